using System.Text.Json;

namespace Api.Tests.SharedState;

internal static class Readiness
{
    /// <summary>Polls <c>/health/ready</c> until it reports <paramref name="wanted"/> (30 s at most), and asserts it did.</summary>
    public static async Task WaitForAsync(HttpClient client, string wanted)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string status;
        while (true)
        {
            using var body = JsonDocument.Parse(await (await client.GetAsync("/health/ready", timeout.Token)).Content.ReadAsStringAsync(timeout.Token));
            status = body.RootElement.GetProperty("status").GetString()!;
            if (status == wanted || timeout.IsCancellationRequested)
            {
                break;
            }

            await Task.Delay(50, timeout.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        Assert.Equal(wanted, status);
    }
}
