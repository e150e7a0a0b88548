using System.Globalization;

namespace Api.Infrastructure;

/// <summary>
/// The one way this API writes <c>Retry-After</c>: whole seconds, rounded up, at least 1 (a zero would invite an
/// immediate retry storm) and at most an hour (a client should look again within that, whatever the cause).
/// </summary>
public static class RetryAfter
{
    internal const int LongestSeconds = 3600;

    /// <summary>Whole seconds for <paramref name="wait"/>; 1 when there is no hint.</summary>
    public static int Seconds(TimeSpan? wait) =>
        wait is { } value ? (int)Math.Clamp(Math.Ceiling(value.TotalSeconds), 1, LongestSeconds) : 1;

    public static void Set(HttpResponse response, int seconds) =>
        response.Headers.RetryAfter = Math.Clamp(seconds, 1, LongestSeconds).ToString(CultureInfo.InvariantCulture);
}
