using Api.Infrastructure;
using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Refit;

namespace Api.Scalekit;

public static class ScalekitServiceCollectionExtensions
{
    public const string ResilienceSection = "Scalekit:Resilience";

    /// <summary>Scalekit's options, its management-token flow and the typed REST client with one resilience pipeline.</summary>
    public static IHostApplicationBuilder AddScalekit(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ScalekitOptions>().BindConfiguration(ScalekitOptions.SectionName)
            .ValidateListsAreIndexed("Scalekit:Audiences", "Scalekit:Issuers")
            .ValidateKeysAreKnown(ScalekitOptions.SectionName, ("Resilience", typeof(HttpStandardResilienceOptions)))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ScalekitOptions>, ScalekitOptionsValidator>();
        services.AddSingleton<IValidateOptions<HttpStandardResilienceOptions>, ResilienceLimiterValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IManagementTokenStore>(LocalManagementTokenStore.Instance);
        services.TryAddSingleton<ApiMetrics>();
        services.AddSingleton<ManagementTokenProvider>();
        services.AddSingleton<UpstreamHealth>();
        services.AddTransient<CallerCancellationHandler>();
        services.AddTransient<ManagementTokenHandler>();
        services.AddTransient<UpstreamCallMetricsHandler>();
        services.AddTransient<ResponseBufferingHandler>();
        services.TryAddTransient<ScalekitHttp2Handler>();

        var oauth = services.AddHttpClient(ManagementTokenProvider.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(CreatePrimaryHandler)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        oauth.AddStandardResilienceHandler().Configure(BindResilience).Configure(SkipLongRetryAfters);
        // The token endpoint's body is read inside its pipeline too, so a stalled one times out like a hung one.
        oauth.AddHttpMessageHandler<ResponseBufferingHandler>();
        oauth.AddHttpMessageHandler<ScalekitHttp2Handler>();

        // Each body is serialized once into one array and sent with its Content-Length. Refit's default streams it,
        // which goes chunked over HTTP/1.1: some load balancers and WAFs refuse that (411) or mishandle it.
        var refit = RefitSettings.ForJsonContext(ScalekitJsonContext.Default);
        refit.RequestBodySerialization = RequestBodySerializationMode.Buffered;
        var api = services.AddRefitGeneratedClient<IScalekitApi>(_ => refit)
            .ConfigureHttpClient(ConfigureApiClient)
            .ConfigurePrimaryHttpMessageHandler(CreatePrimaryHandler)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // The factory's per-request log scopes cost allocations on every call and logged nothing at our levels;
            // failures are logged once, where they are mapped (ApiExceptionHandler).
            .RemoveAllLoggers();

        // Outside the pipeline, where the caller's own token is still told apart from the pipeline's timeouts.
        api.AddHttpMessageHandler<CallerCancellationHandler>();
        // Exactly one pipeline: stacked handlers would multiply retries.
        api.AddStandardResilienceHandler()
            .Configure(BindResilience)
            .Configure(ConfigureApiResilience)
            .Configure(ReportToReadiness);

        // Inside the pipeline, so every attempt carries a current token; then every exchange is counted; innermost,
        // each body is read within the attempt's timeout.
        api.AddHttpMessageHandler<ManagementTokenHandler>();
        api.AddHttpMessageHandler<UpstreamCallMetricsHandler>();
        api.AddHttpMessageHandler<ResponseBufferingHandler>();
        api.AddHttpMessageHandler<ScalekitHttp2Handler>();
        return builder;
    }

    /// <summary>
    /// A failure of the resilience options' own checks, named by its <c>Scalekit:Resilience</c> key: the library names
    /// the pipeline's options instance ("Timeout: The field {pipeline}.AttemptTimeout.Timeout must be ..."), which
    /// differs per client and is no setting anyone can find; the cross-field checks name no key at all.
    /// </summary>
    public static string ResilienceFailure(string? optionsName, string failure)
    {
        var field = $"The field {optionsName}.";
        var at = failure.IndexOf(field, StringComparison.Ordinal);
        if (string.IsNullOrEmpty(optionsName) || at < 0)
        {
            return $"{ResilienceSection}: {failure}";
        }

        var path = failure[(at + field.Length)..];
        var end = path.IndexOf(' ', StringComparison.Ordinal);
        return end < 0 ? $"{ResilienceSection}: {failure}" : $"{ResilienceSection}:{path[..end].Replace('.', ':')}{path[end..]}";
    }

    /// <summary>The end of the resilience library's range for its timeouts (<c>HttpTimeoutStrategyOptions.Timeout</c>).</summary>
    public static readonly TimeSpan LongestResilienceTimeout = TimeSpan.FromDays(1);

    /// <summary>
    /// The timeouts and retries of the management-API client's pipeline, as it is configured from
    /// <paramref name="configuration"/> (its readiness callbacks aside): for settings that must fit around them.
    /// </summary>
    public static HttpStandardResilienceOptions ApiResilience(IConfiguration configuration)
    {
        var options = new HttpStandardResilienceOptions();
        configuration.GetSection(ResilienceSection).Bind(options);
        ConfigureApiResilience(options);
        return options;
    }

    // Bound when the pipeline is built, so settings added later (tests, env) still apply.
    private static void BindResilience(HttpStandardResilienceOptions options, IServiceProvider services) =>
        services.GetRequiredService<IConfiguration>().GetSection(ResilienceSection).Bind(options);

    private static void ConfigureApiClient(IServiceProvider services, HttpClient client)
    {
        client.BaseAddress = services.GetRequiredService<IOptions<ScalekitOptions>>().Value.BaseUri;
        // The resilience pipeline owns every timeout.
        client.Timeout = Timeout.InfiniteTimeSpan;
    }

    private static void ConfigureApiResilience(HttpStandardResilienceOptions options)
    {
        // A retried POST can create a second organization: only safe methods are retried.
        options.Retry.DisableForUnsafeHttpMethods();
        SkipLongRetryAfters(options);
    }

    // Readiness learns from the pipeline itself rather than by calling Scalekit: the breaker's transitions, and its own
    // timeouts (a caller hanging up cancels a call too, and says nothing about Scalekit).
    private static void ReportToReadiness(HttpStandardResilienceOptions options, IServiceProvider services)
    {
        var health = services.GetRequiredService<UpstreamHealth>();
        var breaker = options.CircuitBreaker;
        var (opened, closed) = (breaker.OnOpened, breaker.OnClosed);
        breaker.OnOpened = args => { health.CircuitOpened(args.BreakDuration); return opened?.Invoke(args) ?? default; };
        breaker.OnClosed = args => { health.CircuitClosed(); return closed?.Invoke(args) ?? default; };

        var (attempt, total) = (options.AttemptTimeout.OnTimeout, options.TotalRequestTimeout.OnTimeout);
        options.AttemptTimeout.OnTimeout = args => { health.Failed("did not answer in time"); return attempt?.Invoke(args) ?? default; };
        options.TotalRequestTimeout.OnTimeout = args => { health.Failed("did not answer in time"); return total?.Invoke(args) ?? default; };
    }

    // The token endpoint too: a 429 with a minute's Retry-After held every caller until its timeout (504); answered at
    // once, the caller gets 503 with that Retry-After.
    private static void SkipLongRetryAfters(HttpStandardResilienceOptions options)
    {
        var isTransient = options.Retry.ShouldHandle;
        // Read per call: the timeouts are bound from configuration when the pipeline is built, after this runs.
        options.Retry.ShouldHandle = async args =>
            await isTransient(args) && !RetryAfterTooLong(args.Outcome, options.TotalRequestTimeout.Timeout);
    }

    // Waiting out a long Retry-After would blow the total timeout; answer 503 with the hint instead. So would a short
    // one that ends past what is left of the total timeout: the wait ended in a 504 that dropped the hint.
    private static bool RetryAfterTooLong(Outcome<HttpResponseMessage> outcome, TimeSpan totalTimeout) =>
        outcome.Result is { Headers.RetryAfter: { } retryAfter } response
        && UpstreamRetryAfter.From(retryAfter, TimeProvider.System) is { } wait
        && (wait > UpstreamRetryAfter.LongestRetriedWait || wait >= totalTimeout - UpstreamRetryAfter.SinceFirstSend(response.RequestMessage));

    private static SocketsHttpHandler CreatePrimaryHandler() => new()
    {
        // A redirect from Scalekit is never expected; following it could carry the bearer token elsewhere.
        AllowAutoRedirect = false,
        // Over HTTP/2, calls past the server's stream limit (often 100) open another connection instead of queueing.
        EnableMultipleHttp2Connections = true,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        AutomaticDecompression = DecompressionMethods.All,
        // traceparent, never the caller's baggage.
        ActivityHeadersPropagator = TraceContextOnly.Instance,
    };
}

/// <summary>
/// The library checks its pipeline's timeouts, retries and breaker, not its concurrency limiter: a
/// <c>PermitLimit</c> of 0 started, then every Scalekit call failed with a 500 when the pipeline was built. Written as
/// the library writes its own failures, so <see cref="ScalekitServiceCollectionExtensions.ResilienceFailure"/> names the key.
/// </summary>
internal sealed class ResilienceLimiterValidator : IValidateOptions<HttpStandardResilienceOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpStandardResilienceOptions options) =>
        options.RateLimiter.DefaultRateLimiterOptions.PermitLimit < 1
            ? ValidateOptionsResult.Fail($"The field {name}.RateLimiter.DefaultRateLimiterOptions.PermitLimit must be at least 1 (default 1000): how many calls to Scalekit may be in flight at once.")
            : ValidateOptionsResult.Success;
}
