using System.Diagnostics.CodeAnalysis;
using Api.Idempotency;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Api.Infrastructure;

/// <summary>
/// The <c>Cors</c> section: the browser origins (single-page apps served from another origin) that may call this API.
/// None by default outside Development, so only same-origin pages (or non-browser clients) can.
/// </summary>
public sealed class CrossOriginOptions
{
    public const string SectionName = "Cors";

    /// <summary>Exact origins such as <c>https://app.example.com</c>, or a lone <c>*</c> for any origin.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>How long a browser may reuse a preflight answer.</summary>
    public TimeSpan PreflightMaxAge { get; set; } = TimeSpan.FromMinutes(10);
}

public static class CrossOrigin
{
    public const string AnyOrigin = "*";

    // What a browser client sends beyond the CORS-safelisted headers (JSON bodies, tokens, retries, trace context).
    private static readonly string[] AllowedRequestHeaders =
        [HeaderNames.Authorization, HeaderNames.ContentType, IdempotencyKey.HeaderName, "traceparent", "tracestate"];

    // What a browser client must be able to read beyond the safelisted response headers: where a created organization
    // is, when to retry, why a token was refused, whether an answer is a replay, and how to send a refused request
    // again (the methods a 405 names, the body types a PATCH takes, the content coding a 415 asks for).
    private static readonly string[] ExposedResponseHeaders =
    [
        HeaderNames.Location, HeaderNames.RetryAfter, HeaderNames.WWWAuthenticate, StoredResponseResult.ReplayedHeader,
        HeaderNames.Allow, "Accept-Patch", HeaderNames.AcceptEncoding,
    ];

    /// <summary>
    /// One policy for every endpoint, from <see cref="CrossOriginOptions"/>. Bearer tokens are never ambient, so
    /// credentials (cookies) are not allowed and an allowed origin gains nothing a token would not already give it.
    /// </summary>
    public static IServiceCollection AddApiCors(this IServiceCollection services)
    {
        services.AddOptions<CrossOriginOptions>().BindConfiguration(CrossOriginOptions.SectionName)
            .ValidateListsAreIndexed("Cors:AllowedOrigins")
            .ValidateKeysAreKnown(CrossOriginOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<CrossOriginOptions>, CrossOriginOptionsValidator>();
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<CrossOriginOptions>, IHostEnvironment>((cors, options, environment) =>
        {
            if (PolicyFor(options.Value, environment.IsDevelopment()) is { } policy)
            {
                cors.AddDefaultPolicy(policy);
            }
        });
        return services;
    }

    /// <summary>
    /// The CORS middleware, when some origin is allowed. When none is, it stays out of the pipeline: it would only
    /// look for an <c>Origin</c> header (and mark every request's <c>Items</c>) to do nothing. Decided when the
    /// pipeline is built, after the configuration was validated.
    /// </summary>
    public static IApplicationBuilder UseApiCors(this IApplicationBuilder app) =>
        app.Use(next =>
        {
            var cors = app.ApplicationServices.GetRequiredService<IOptions<CorsOptions>>().Value;
            if (cors.GetPolicy(cors.DefaultPolicyName) is null)
            {
                return next;
            }

            var branch = app.New();
            branch.UseCors();
            branch.Run(next);
            return branch.Build();
        });

    /// <summary>
    /// The policy, or null when no origin is allowed (then no CORS header is ever sent). In Development without
    /// <c>Cors:AllowedOrigins</c>, a dev server on this machine (<c>http://localhost:5173</c>, any port) may call.
    /// </summary>
    public static CorsPolicy? PolicyFor(CrossOriginOptions options, bool isDevelopment)
    {
        var builder = new CorsPolicyBuilder();
        if (options.AllowedOrigins.Contains(AnyOrigin))
        {
            builder.AllowAnyOrigin();
        }
        else if (options.AllowedOrigins.Length > 0)
        {
            builder.WithOrigins([.. options.AllowedOrigins.Select(origin => OriginOf(origin)!)]);
        }
        else if (isDevelopment)
        {
            builder.SetIsOriginAllowed(IsLoopback);
        }
        else
        {
            return null;
        }

        return builder
            .WithMethods(HttpMethods.Get, HttpMethods.Post, HttpMethods.Patch, HttpMethods.Delete)
            .WithHeaders(AllowedRequestHeaders)
            .WithExposedHeaders(ExposedResponseHeaders)
            .SetPreflightMaxAge(options.PreflightMaxAge)
            .Build();
    }

    /// <summary>
    /// <paramref name="value"/> as a browser sends it in <c>Origin</c> (scheme, host, port when not the default), or
    /// null when it is not an http(s) origin: no path, query, fragment or user info.
    /// </summary>
    public static string? OriginOf(string? value) =>
        TryParseOrigin(value, out var origin) ? origin.GetLeftPart(UriPartial.Authority) : null;

    private static bool IsLoopback(string origin) => TryParseOrigin(origin, out var uri) && uri.IsLoopback;

    private static bool TryParseOrigin(string? value, [NotNullWhen(true)] out Uri? origin) =>
        Uri.TryCreate(value?.Trim(), UriKind.Absolute, out origin)
        && (origin.Scheme == Uri.UriSchemeHttps || origin.Scheme == Uri.UriSchemeHttp)
        && origin.AbsolutePath == "/" && origin.Query.Length == 0 && origin.Fragment.Length == 0 && origin.UserInfo.Length == 0;
}

internal sealed class CrossOriginOptionsValidator : IValidateOptions<CrossOriginOptions>
{
    public ValidateOptionsResult Validate(string? name, CrossOriginOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.AllowedOrigins.Length; i++)
        {
            var origin = options.AllowedOrigins[i];
            if (origin == CrossOrigin.AnyOrigin)
            {
                if (options.AllowedOrigins.Length > 1)
                {
                    failures.Add($"{CrossOriginOptions.SectionName}:AllowedOrigins:{i} is \"*\", which allows every origin; list it alone or list exact origins.");
                }
            }
            else if (CrossOrigin.OriginOf(origin) is null)
            {
                failures.Add($"{CrossOriginOptions.SectionName}:AllowedOrigins:{i} must be an origin such as https://app.example.com (scheme, host and optional port; no path), not \"{PrintableText.Clean(origin, 100)}\".");
            }
        }

        if (options.PreflightMaxAge < TimeSpan.Zero || options.PreflightMaxAge > TimeSpan.FromDays(1))
        {
            failures.Add($"{CrossOriginOptions.SectionName}:PreflightMaxAge must be between 00:00:00 and 1.00:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
