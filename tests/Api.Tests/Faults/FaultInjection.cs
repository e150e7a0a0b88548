namespace Api.Tests.Faults;

/// <summary>
/// Settings for fault tests: short Scalekit timeouts, so a hanging upstream costs a second, not five (still long
/// enough that a healthy call on a busy machine does not time out), and a failed management-token fetch is not
/// remembered, so a retry made once a test lifts its fault asks the token endpoint again.
/// </summary>
public static class FaultInjection
{
    public static Dictionary<string, string?> ShortTimeouts() => new()
    {
        ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:01",
        ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:03",
        ["Scalekit:TokenFetchCooldown"] = "00:00:00",
    };
}

/// <summary>A fake plus an API host with <see cref="FaultInjection.ShortTimeouts"/>.</summary>
public sealed class ShortTimeoutFixture() : ApiFixture(FaultInjection.ShortTimeouts());
