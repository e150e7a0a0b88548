using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Refit;

namespace Api.Scalekit;

public static class UpstreamOutcome
{
    /// <summary>
    /// Whether a failed call may still have been carried out by Scalekit. False only when Scalekit certainly did
    /// nothing: it refused with a 4xx, or the request never left (no management token, circuit open, no connection).
    /// Timeouts, broken connections, 5xx and unreadable answers leave the outcome unknown.
    /// </summary>
    public static bool MayHaveTakenEffect(Exception exception) => exception switch
    {
        ApiRequestException { InnerException: { } cause } => MayHaveTakenEffect(cause),
        ApiException api => (int)api.StatusCode is < 400 or >= 500,
        ManagementTokenException or BrokenCircuitException or RateLimiterRejectedException => false,
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError } => false,
        _ => true,
    };
}
