using System.Diagnostics;
using System.Text.RegularExpressions;
using Scalekit.Emulator;

namespace Api.Tests.Deploy;

/// <summary>
/// deploy/compose.yaml started the API as soon as the emulator's container had started, before the emulator listened:
/// the API's first signing-key load then failed, and every request was 503 until the JWKS cooldown (30 s) let it retry.
/// No container engine runs here, so the file's wiring is read as text and its health probe is run against a real emulator.
/// </summary>
public sealed partial class ComposeTests
{
    private static readonly string Compose = File.ReadAllText(RepositoryFiles.PathOf("deploy", "compose.yaml"));

    [Fact]
    public void TheApiWaitsForTheEmulatorToBeHealthy()
    {
        var api = Compose[Compose.IndexOf("\n  api:", StringComparison.Ordinal)..];
        Assert.Matches(@"depends_on:\s*\n\s+emulator: \{ condition: service_healthy \}", api);
        Assert.Matches(HealthProbe(), Compose);
    }

    [Fact]
    public async Task TheEmulatorsHealthProbePassesOnlyOnceItServesItsKeys()
    {
        var probe = HealthProbe().Match(Compose).Groups["script"].Value;
        int port;
        await using (var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions()))
        {
            port = emulator.BaseUrl.Port;
            Assert.Equal(0, await RunAsync(probe.Replace("5380", port.ToString(), StringComparison.Ordinal)));
        }

        Assert.NotEqual(0, await RunAsync(probe.Replace("5380", port.ToString(), StringComparison.Ordinal)));
    }

    private static async Task<int> RunAsync(string script)
    {
        using var bash = Process.Start(new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardError = true })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await bash.StandardError.ReadToEndAsync(timeout.Token);
        await bash.WaitForExitAsync(timeout.Token);
        return bash.ExitCode;
    }

    // The emulator service's probe, a bash script in a YAML single-quoted string.
    [GeneratedRegex("""healthcheck:\s*\n\s+test: \["CMD", "bash", "-c", '(?<script>[^']+)'\]""")]
    private static partial Regex HealthProbe();
}
