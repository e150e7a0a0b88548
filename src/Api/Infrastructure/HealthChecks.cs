using System.Text.Json;
using Api.Auth;
using Api.Scalekit;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Api.Infrastructure;

public static class HealthChecks
{
    private const string Ready = "ready";

    private static readonly HttpMethodMetadata ProbeMethods = new([HttpMethods.Get, HttpMethods.Head]);

    public static IServiceCollection AddApiHealthChecks(this IServiceCollection services)
    {
        services.AddSingleton<ScalekitReadinessCheck>();
        services.AddHealthChecks().AddCheck<ScalekitReadinessCheck>("scalekit", tags: [Ready]);
        return services;
    }

    /// <summary><c>/health/live</c>: the process answers. <c>/health/ready</c>: keys loaded, a management token obtainable, and how Scalekit's management API has been answering.</summary>
    public static IEndpointRouteBuilder MapApiHealthChecks(this IEndpointRouteBuilder app)
    {
        // The framework maps health checks for every method; a probe reads (GET, HEAD), anything else is 405.
        // AllowCachingResponses only stops the middleware from adding its own no-cache, Pragma and Expires: the
        // Cache-Control: no-store every answer carries (ResponseHeaders) is already set, so no cache keeps a probe.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync, AllowCachingResponses = true })
            .WithMetadata(ProbeMethods)
            .AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(Ready), ResponseWriter = WriteAsync, AllowCachingResponses = true })
            .WithMetadata(ProbeMethods)
            .AllowAnonymous();
        return app;
    }

    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        var checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description });
        // Degraded still serves traffic (200); only Unhealthy is an error, and errors are Problem Details.
        if (report.Status != HealthStatus.Unhealthy)
        {
            http.Response.ContentType = "application/json";
            return http.Response.WriteAsync(JsonSerializer.Serialize(new { status = report.Status.ToString(), checks }));
        }

        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        var problem = ApiProblems.Create(StatusCodes.Status503ServiceUnavailable, "Service Unavailable", "The API is not ready to serve requests.");
        problem.Extensions["checks"] = checks;
        return problems.WriteAsync(new() { HttpContext = http, ProblemDetails = problem }).AsTask();
    }
}

/// <summary>
/// Ready = signing keys loaded and this API's client credentials not refused: without either no replica can do its
/// work, and a rollout must not go on. A token endpoint that is only unreachable, or a management API whose circuit is
/// open or whose latest call failed, is Degraded (still 200): it is Scalekit's outage, every replica sees it at once,
/// and taking them all out of rotation would turn the cached reads, the 401s and the 503s with Retry-After they still
/// give into connection errors. The management API is judged by the calls callers made, never probed; the result is
/// cached briefly so probes do not hammer Scalekit's token endpoint.
/// </summary>
internal sealed class ScalekitReadinessCheck(SigningKeyStore keys, ManagementTokenProvider tokens, UpstreamHealth upstream, TimeProvider time) : IHealthCheck
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TokenWait = TimeSpan.FromSeconds(2);
    private volatile Snapshot? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_last is { } last && time.GetUtcNow() - last.At < CacheFor)
        {
            return last.Result;
        }

        var result = await EvaluateAsync(cancellationToken);
        _last = new Snapshot(time.GetUtcNow(), result);
        return result;
    }

    private async Task<HealthCheckResult> EvaluateAsync(CancellationToken cancellationToken)
    {
        // A probe that gives up stops waiting; the fetch goes on for whoever else waits on it and still stores the keys.
        if (!keys.HasKeys && await keys.RefreshAsync(cancellationToken) is null)
        {
            return HealthCheckResult.Unhealthy("No Scalekit signing key is loaded.");
        }

        try
        {
            // A token endpoint that hangs must not hold the probe past its own timeout (3 s in the Kubernetes example):
            // a probe that times out fails, and the outage would take every replica out after all.
            // A wait given up on leaves the fetch running, and its failure then unobserved.
            await tokens.GetTokenAsync(cancellationToken).AsTask().ObserveFailure().WaitAsync(TokenWait, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return HealthCheckResult.Degraded("Scalekit's token endpoint is not answering; calls that need a management token may answer 503.");
        }
        catch (ManagementTokenException ex) when (ex.CredentialsRejected)
        {
            return HealthCheckResult.Unhealthy("Scalekit rejected the API's client credentials.");
        }
        catch (ManagementTokenException)
        {
            return HealthCheckResult.Degraded("Scalekit's token endpoint is unreachable; calls that need a management token answer 503.");
        }

        if (tokens.LastFetchFailed)
        {
            return HealthCheckResult.Degraded("Scalekit's token endpoint is unreachable; the cached management token serves until it expires.");
        }

        // A cached token says nothing about Scalekit now: the calls it was used for do.
        return upstream.Problem() is { } problem ? HealthCheckResult.Degraded(problem) : HealthCheckResult.Healthy();
    }

    private sealed record Snapshot(DateTimeOffset At, HealthCheckResult Result);
}
