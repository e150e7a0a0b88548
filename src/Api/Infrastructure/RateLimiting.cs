using System.Threading.RateLimiting;
using Api.Auth;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Api.Infrastructure;

/// <summary>Names of the rate-limiting policies endpoints opt into.</summary>
public static class RateLimitPolicies
{
    /// <summary>Per caller (M2M <c>client_id</c> or user <c>sub</c>), one budget for reads and one for writes.</summary>
    public const string PerCaller = "PerCaller";
}

/// <summary>The <c>RateLimiting</c> section. Every request to Scalekit counts against one per-environment quota.</summary>
public sealed class RateLimitingOptions
{
    public const string SectionName = "RateLimiting";

    /// <summary>GET and HEAD requests.</summary>
    public CallerLimit Reads { get; set; } = new() { PermitLimit = 120, Window = TimeSpan.FromMinutes(1) };

    /// <summary>Every other method: creates, and any later update or delete.</summary>
    public CallerLimit Writes { get; set; } = new() { PermitLimit = 10, Window = TimeSpan.FromMinutes(1) };
}

/// <summary><see cref="PermitLimit"/> requests per <see cref="Window"/>: a token bucket that bursts up to the limit.</summary>
public sealed class CallerLimit
{
    public int PermitLimit { get; set; }

    public TimeSpan Window { get; set; }
}

public static class RateLimiting
{
    /// <summary>Per-caller token buckets for reads and writes; over the limit is 429 Problem Details with Retry-After.</summary>
    public static IServiceCollection AddApiRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<RateLimitingOptions>().BindConfiguration(RateLimitingOptions.SectionName)
            .ValidateKeysAreKnown(RateLimitingOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<RateLimitingOptions>, RateLimitingOptionsValidator>();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = WriteRejectionAsync;
            options.AddPolicy<string, CallerRateLimitPolicy>(RateLimitPolicies.PerCaller);
        });
        return services;
    }

    private static async ValueTask WriteRejectionAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = RetryAfter.Seconds(retryAfter);
        RetryAfter.Set(http.Response, seconds);

        var problem = ApiProblems.Create(ProblemReasons.RateLimited, "Too Many Requests",
            $"This caller's request limit was reached. Try again in {seconds} s.");
        // The framework's defaults link the RFC 9110 statuses; 429 is defined by RFC 6585.
        problem.Type = "https://www.rfc-editor.org/rfc/rfc6585#section-4";
        await http.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem });
    }
}

/// <summary>Partitions by caller and by read/write, so one noisy client cannot spend another's budget.</summary>
internal sealed class CallerRateLimitPolicy(IOptions<RateLimitingOptions> options) : IRateLimiterPolicy<string>
{
    // Null: the global OnRejected (Problem Details) answers.
    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => null;

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var method = httpContext.Request.Method;
        var reads = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        var limit = reads ? options.Value.Reads : options.Value.Writes;
        // A token without sub names no caller (its idempotency keys are refused), but it still spends a budget: its
        // application's (client_id), so such tokens of one application cannot use up another's. Only authenticated
        // requests get here (the limiter runs after authorization); the last fallback is defensive.
        var caller = ScalekitClaims.CallerOf(httpContext.User)
            ?? (ScalekitClaims.ClientIdOf(httpContext.User) is { } application ? $"application:{application}" : "(unidentified)");

        return RateLimitPartition.GetTokenBucketLimiter($"{(reads ? "reads" : "writes")}|{caller}", _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit.PermitLimit,
            TokensPerPeriod = limit.PermitLimit,
            ReplenishmentPeriod = limit.Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }
}

internal sealed class RateLimitingOptionsValidator : IValidateOptions<RateLimitingOptions>
{
    internal static readonly TimeSpan LongestWindow = TimeSpan.FromSeconds(RetryAfter.LongestSeconds);

    public ValidateOptionsResult Validate(string? name, RateLimitingOptions options)
    {
        var failures = new List<string>();
        Check(options.Reads, nameof(options.Reads), failures);
        Check(options.Writes, nameof(options.Writes), failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(CallerLimit limit, string name, List<string> failures)
    {
        var key = $"{RateLimitingOptions.SectionName}:{name}";
        if (limit.PermitLimit < 1)
        {
            failures.Add($"{key}:PermitLimit must be at least 1.");
        }

        // A refused caller is told to come back after the window's budget refills, in a Retry-After of at most an hour.
        // Past that it came back into another 429 (a Window of 60, read as 60 days, answered "3600 s" for two months),
        // and past a few years the budget never refilled at all.
        if (limit.Window <= TimeSpan.Zero || limit.Window > LongestWindow)
        {
            failures.Add($"{key}:Window must be positive and at most 01:00:00 (the longest Retry-After this API sends), e.g. 00:01:00.");
        }
    }
}
