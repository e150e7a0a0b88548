using System.Diagnostics;
using System.Net.Http.Headers;

namespace Api.Scalekit;

public static class UpstreamRetryAfter
{
    /// <summary>A Retry-After longer than this is not waited out by the retry policy.</summary>
    public static readonly TimeSpan LongestRetriedWait = TimeSpan.FromSeconds(2);

    private static readonly HttpRequestOptionsKey<long> FirstSentAt = new("Api.Scalekit.FirstSentAt");

    /// <summary>Notes when <paramref name="request"/> first left (its retries keep the first time).</summary>
    public static void NoteFirstSend(HttpRequestMessage request)
    {
        if (!request.Options.TryGetValue(FirstSentAt, out _))
        {
            request.Options.Set(FirstSentAt, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>How long ago <paramref name="request"/> first left: the share of the total timeout already spent.</summary>
    public static TimeSpan SinceFirstSend(HttpRequestMessage? request) =>
        request is not null && request.Options.TryGetValue(FirstSentAt, out var at) ? Stopwatch.GetElapsedTime(at) : TimeSpan.Zero;

    /// <summary>
    /// The longest wait passed on to this API's callers: a Retry-After of hours from Scalekit (or an HTTP date far
    /// ahead) would park their clients long after Scalekit is back, and no retry of ours waits for it either.
    /// </summary>
    public static readonly TimeSpan LongestPassedOn = TimeSpan.FromMinutes(1);

    /// <summary>The wait to tell callers: Scalekit's own hint, at most <see cref="LongestPassedOn"/>; null when it sent none.</summary>
    public static TimeSpan? PassedOn(RetryConditionHeaderValue? header, TimeProvider time) =>
        From(header, time) is { } wait ? (wait < LongestPassedOn ? wait : LongestPassedOn) : null;

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
}
