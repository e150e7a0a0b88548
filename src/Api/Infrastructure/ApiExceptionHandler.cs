using System.Net;
using Api.Idempotency;
using Api.Organizations;
using Api.Scalekit;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;
using ApiException = Refit.ApiException;

namespace Api.Infrastructure;

/// <summary>
/// Maps failures to Problem Details. Upstream answers are translated, never forwarded: Scalekit's bodies and
/// headers (and any token) stay inside this process.
/// </summary>
internal sealed class ApiExceptionHandler(IProblemDetailsService problems, TimeProvider time, UpstreamHealth upstream, ShutdownDeadline shutdown,
    ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; there is nobody to answer.
            return true;
        }

        var (problem, retryAfter) = Map(exception);
        // The caller left while the work went on without it (a create, a metadata change holding its turn, one Kestrel
        // dropped at the shutdown deadline): what went wrong is logged (Map), and nobody is left to answer.
        if (HangUps.RecordIfGone(httpContext))
        {
            return true;
        }

        httpContext.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        // The headers set on the way in, which the middleware cleared, come back as the answer starts (ResponseHeaders).
        if (retryAfter is { } seconds)
        {
            RetryAfter.Set(httpContext.Response, seconds);
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private (ProblemDetails Problem, int? RetryAfter) Map(Exception exception)
    {
        switch (exception)
        {
            case BadHttpRequestException bad:
                return (ApiProblems.Create(bad.StatusCode, ReasonPhrase(bad.StatusCode), BadRequestDetail(bad)), null);

            // Refit wraps transport failures (timeouts, resets, our own token errors); judge the cause.
            case Refit.ApiRequestException { InnerException: { } cause }:
                return Map(cause);

            case ApiException api:
                return MapUpstreamAnswer(api);

            case ManagementTokenException { CredentialsRejected: true }:
                logger.LogError("Scalekit rejected this API's client credentials (Scalekit:ClientId / Scalekit:ClientSecret)");
                return (BadGateway("Scalekit rejected this API's credentials."), null);

            case ManagementTokenException token:
                return (ApiProblems.Create(503, "Service Unavailable", "Scalekit's token endpoint is unavailable. Try again later."),
                    RetryAfter.Seconds(token.RetryAfter ?? TimeSpan.FromSeconds(5)));

            case IdempotencyStoreUnavailableException:
                logger.LogWarning("The idempotency store is unreachable; refusing a keyed create");
                return (ApiProblems.Create(503, "Service Unavailable",
                    "Requests with an Idempotency-Key need the shared store, which is unavailable. Retry later."), 5);

            // Forgetting a live key would let its retry create again: a new key waits for room instead.
            case IdempotencyStoreFullException full:
                logger.LogWarning("The in-memory idempotency store is full of live keys; refusing a create with a new key");
                return (ApiProblems.Create(ProblemReasons.IdempotencyStoreFull, "Service Unavailable",
                    "This API holds as many Idempotency-Keys as it may keep. Retry later, or send the create without an Idempotency-Key."), RetryAfter.Seconds(full.RetryAfter));

            case OrganizationBusyException busy:
                logger.LogWarning("A metadata change to {OrganizationId} waited {Waited} for its turn behind other changes; refusing it",
                    busy.OrganizationId, busy.Waited);
                return (ApiProblems.Create(ProblemReasons.OrganizationBusy, "Service Unavailable",
                    "Other changes to this organization's metadata are still ahead of this one; it was not applied. Retry later."), 5);

            case OrganizationLockUnavailableException:
                logger.LogWarning("The shared lock store is unreachable; refusing a metadata change");
                return (ApiProblems.Create(503, "Service Unavailable",
                    "Changing an organization's metadata needs the shared store, which is unavailable. Retry later."), 5);

            case BrokenCircuitException:
                logger.LogWarning("Scalekit circuit is open; failing fast");
                return (ApiProblems.Create(503, "Service Unavailable", "Scalekit is failing; requests are paused briefly. Try again later."),
                    RetryAfter.Seconds(upstream.CircuitBreakRemaining()));

            // The pipeline's concurrency limiter (Scalekit:Resilience:RateLimiter) refused the call before it left.
            case RateLimiterRejectedException rejected:
                logger.LogWarning("Too many calls to Scalekit are in flight; refusing this one");
                return (ApiProblems.Create(503, "Service Unavailable", "Too many requests are waiting on Scalekit. Try again shortly."),
                    RetryAfter.Seconds(rejected.RetryAfter));

            case TimeoutRejectedException:
                logger.LogWarning("Scalekit did not answer in time");
                return (ApiProblems.Create(504, "Gateway Timeout", "Scalekit did not answer in time."), null);

            case HttpRequestException http:
                logger.LogWarning("Scalekit could not be reached: {HttpError}", http.HttpRequestError);
                return (BadGateway("Scalekit could not be reached."), null);

            case ScalekitContractException contract:
                logger.LogWarning("Scalekit answered outside its contract: {Reason}", contract.Message);
                return (BadGateway("Scalekit answered with an unexpected body."), null);

            // The host's shutdown deadline ended a metadata change whose write Scalekit may still apply.
            case MetadataChangeAbandonedException abandoned:
                logger.LogWarning(
                    "The shutdown deadline passed before Scalekit answered a metadata change to {OrganizationId}: its outcome is unknown, and its turn is left to run out instead of passing to the next change",
                    abandoned.OrganizationId);
                return (ApiProblems.Create(503, "Service Unavailable", "The API is shutting down; the change may or may not have been applied. Try again."), 1);

            // The host's shutdown deadline ended a create (or a metadata change's read) still waiting on Scalekit;
            // Kestrel is dropping the connection.
            case OperationCanceledException when shutdown.Token.IsCancellationRequested:
                logger.LogWarning("The shutdown deadline passed before Scalekit answered; the request was abandoned");
                return (ApiProblems.Create(503, "Service Unavailable", "The API is shutting down. Try again."), 1);

            default:
                logger.LogError(exception, "Unhandled exception");
                return (ApiProblems.Create(500, "Internal Server Error", "An unexpected error occurred."), null);
        }
    }

    private (ProblemDetails, int?) MapUpstreamAnswer(ApiException api)
    {
        var status = (int)api.StatusCode;
        logger.LogWarning("Scalekit answered {StatusCode} for {Method} {Route}", status, api.HttpMethod.Method, RouteOf(api.Uri));
        return api.StatusCode switch
        {
            _ when status is >= 200 and < 300 => (BadGateway("Scalekit answered with an unreadable body."), null),
            // Scalekit's field descriptions are passed on, but never one that echoes the management token the call carried.
            HttpStatusCode.BadRequest => (UpstreamValidation.ToProblem(api.Content, api.RequestMessage?.Headers.Authorization?.Parameter), null),
            // Only a path that names an organization can miss one: a 404 to a create or a list says the route is not
            // there (an environment URL that is not Scalekit's), which "organization not found" would hide.
            HttpStatusCode.NotFound when IsCollection(api.Uri) => (BadGateway("Scalekit answered 404 for its organizations collection."), null),
            HttpStatusCode.NotFound => (ApiProblems.OrganizationNotFound(), null),
            HttpStatusCode.Conflict => (ApiProblems.Conflict(), null),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => (BadGateway("Scalekit refused this API's credentials."), null),
            HttpStatusCode.TooManyRequests => (ApiProblems.Create(503, "Service Unavailable", "Scalekit's rate limit was reached. Try again later."),
                RetryAfter.Seconds(UpstreamRetryAfter.PassedOn(api.Headers.RetryAfter, time))),
            // Scalekit said when to come back (one too long for the retries to wait out, or still unavailable after
            // them): the caller's client is told to back off for that long, not handed a bare 502.
            HttpStatusCode.ServiceUnavailable when api.Headers.RetryAfter is not null =>
                (ApiProblems.Create(503, "Service Unavailable", "Scalekit is unavailable. Try again later."),
                    RetryAfter.Seconds(UpstreamRetryAfter.PassedOn(api.Headers.RetryAfter, time))),
            _ => (BadGateway($"Scalekit answered {status}."), null),
        };
    }

    private static ProblemDetails BadGateway(string detail) => ApiProblems.Create(502, "Bad Gateway", detail);

    private static bool IsCollection(Uri? uri) =>
        uri is not null && uri.AbsolutePath.TrimEnd('/').EndsWith("/api/v1/organizations", StringComparison.Ordinal);

    // Log the route shape, not ids or query strings.
    private static string RouteOf(Uri? uri) => uri is null ? "?" : string.Join('/', uri.AbsolutePath.Split('/').Take(4));

    private static string BadRequestDetail(BadHttpRequestException bad) => bad.StatusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => BodyTooLargeDetail,
        StatusCodes.Status415UnsupportedMediaType => NotJsonDetail,
        _ when bad.InnerException is System.Text.Json.JsonException json => InvalidJsonDetail(json),
        // The framework's own wording names the handler's parameters ("Implicit body inferred for parameter ...").
        _ when IsMissingBody(bad) => "The request body is required: send a JSON object.",
        _ => UnreadableRequestDetail,
    };

    public const string UnreadableRequestDetail = "The request could not be read.";

    public const string BodyTooLargeDetail = "The request body is too large.";

    public const string NotJsonDetail = "The request body must be JSON (Content-Type: application/json).";

    // An empty body and the JSON literal null both arrive as the endpoint's missing-body failure.
    private static bool IsMissingBody(BadHttpRequestException bad) =>
        bad.Message.StartsWith("Implicit body inferred", StringComparison.Ordinal)
        || (bad.Message.StartsWith("Required parameter", StringComparison.Ordinal) && bad.Message.EndsWith("from body.", StringComparison.Ordinal));

    private const int MaxJsonPathLength = 128;

    /// <summary>
    /// Where the body went wrong, as a JSON path ("$.metadata.plan"), when the parser knows it. Not the exception's
    /// message: that names this API's .NET types. The path is built from the caller's own property names, so it is
    /// cleaned and capped like any text from outside.
    /// </summary>
    private static string InvalidJsonDetail(System.Text.Json.JsonException json) =>
        PrintableText.Clean(json.Path, MaxJsonPathLength) is { } path
            ? $"The request body is not valid JSON for this operation (at {path})."
            : "The request body is not valid JSON for this operation.";

    // RFC 9110's names, as the framework's own Problem Details use them ("Content Too Large", not "Payload Too Large").
    private static string ReasonPhrase(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => "Content Too Large",
        _ => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error",
    };
}
