namespace Api.Scalekit;

/// <summary>
/// What callers of Scalekit's management API are getting, for readiness: the client's circuit state and how the latest
/// exchange went (told by the resilience pipeline's callbacks and by <see cref="UpstreamCallMetricsHandler"/>). Both are
/// in memory, so a probe never calls Scalekit.
/// </summary>
public sealed class UpstreamHealth(TimeProvider time)
{
    /// <summary>A failed exchange speaks for this long, unless a later one succeeds first.</summary>
    public static readonly TimeSpan RecentFailure = TimeSpan.FromMinutes(1);

    private volatile FailedExchange? _latestFailure;

    // Not Polly's CircuitBreakerStateProvider: one of those binds to a single build of the pipeline, and a rebuild (a
    // reload of the resilience settings) would fail on it. The breaker's callbacks tell this instance instead.
    private volatile bool _circuitBroken;

    // Read before written: on the hot path the field is already null, and a write on every call would bounce its cache
    // line between cores.
    public void Succeeded()
    {
        if (_latestFailure is not null)
        {
            _latestFailure = null;
        }
    }

    // When the open circuit lets a probe through (UTC ticks): Retry-After tells callers what remains, not the whole break.
    private long _circuitOpenUntil;

    /// <summary>The breaker opened for <paramref name="breakDuration"/>: calls answer 503 until a probe succeeds.</summary>
    public void CircuitOpened(TimeSpan breakDuration)
    {
        Interlocked.Exchange(ref _circuitOpenUntil, (time.GetUtcNow() + breakDuration).UtcTicks);
        _circuitBroken = true;
    }

    /// <summary>What remains of the open circuit's break (zero once a probe may go through).</summary>
    public TimeSpan CircuitBreakRemaining()
    {
        var remaining = TimeSpan.FromTicks(Interlocked.Read(ref _circuitOpenUntil) - time.GetUtcNow().UtcTicks);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    /// <summary>A probe succeeded and the breaker closed.</summary>
    public void CircuitClosed() => _circuitBroken = false;

    /// <param name="what">How it failed, e.g. "answered 503"; never a body, header or token.</param>
    public void Failed(string what) => _latestFailure = new FailedExchange(what, time.GetUtcNow());

    /// <summary>Why calls to the management API are failing now, or null when nothing says they are.</summary>
    public string? Problem()
    {
        // An open circuit stays Open until the next call probes it, however long ago it broke: no call has said
        // Scalekit is back, and callers meanwhile get 503.
        if (_circuitBroken)
        {
            return "Scalekit's management API is failing: its circuit is open and calls answer 503 until a probe succeeds.";
        }

        if (_latestFailure is { } failure && time.GetUtcNow() - failure.At is var age && age < RecentFailure)
        {
            return $"The latest call to Scalekit's management API, {Math.Max(0, (int)age.TotalSeconds)} s ago, {failure.What}; calls may answer 502, 503 or 504.";
        }

        return null;
    }

    private sealed record FailedExchange(string What, DateTimeOffset At);
}
