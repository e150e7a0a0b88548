namespace Api.Tests;

/// <summary>
/// Waits for a condition the system under test brings about (a queued lock, a written line, a dropped cache entry),
/// checking it every few milliseconds. The wait is bounded and fails the test with what it waited for; it is never a
/// fixed sleep that hopes the work is done.
/// </summary>
public static class Poll
{
    private static readonly TimeSpan DefaultWithin = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan DefaultEvery = TimeSpan.FromMilliseconds(10);

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? within = null, TimeSpan? every = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, within, every);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null, TimeSpan? every = null)
    {
        using var timeout = new CancellationTokenSource(within ?? DefaultWithin);
        while (!await condition())
        {
            Assert.False(timeout.IsCancellationRequested, $"timed out waiting until {what}");
            await Task.Delay(every ?? DefaultEvery, CancellationToken.None);
        }
    }
}
