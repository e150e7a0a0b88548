using System.Net;

namespace Api.Tests;

internal static class WarmUp
{
    /// <summary>
    /// Reads <paramref name="path"/> until it answers 200 (30 s at most): the management token in hand and the path
    /// compiled, so what a test times afterwards is only the fault it sets up. With the resilience timeouts a test
    /// shortens, the first token fetch on a busy machine can miss them; pair this with no token-fetch cooldown.
    /// </summary>
    public static async Task UntilOkAsync(HttpClient client, string path)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await client.GetAsync(path, deadline.Token)).StatusCode != HttpStatusCode.OK)
        {
        }
    }
}
