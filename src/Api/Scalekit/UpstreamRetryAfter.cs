using System.Net.Http.Headers;

namespace Api.Scalekit;

public static class UpstreamRetryAfter
{
    /// <summary>A Retry-After longer than this is not waited out by the retry policy.</summary>
    public static readonly TimeSpan LongestRetriedWait = TimeSpan.FromSeconds(2);

    public static TimeSpan? From(RetryConditionHeaderValue? header, TimeProvider time)
    {
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>How long an open circuit stays open: the configured break duration (Polly's default 5 s otherwise).</summary>
    public static TimeSpan CircuitBreakDuration(IConfiguration configuration) =>
        configuration.GetValue<TimeSpan?>($"{ScalekitServiceCollectionExtensions.ResilienceSection}:CircuitBreaker:BreakDuration") ?? TimeSpan.FromSeconds(5);
}
