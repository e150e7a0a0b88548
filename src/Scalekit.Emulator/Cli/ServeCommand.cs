using System.Globalization;
using System.Runtime.InteropServices;

namespace Scalekit.Emulator.Cli;

/// <summary><c>dotnet run --project src/Scalekit.Emulator [-- --port N ...]</c>: serve until Ctrl+C.</summary>
internal static class ServeCommand
{
    public const string Usage = """
        Usage: Scalekit.Emulator [--port N] [--http2-port N] [--client-id ID] [--client-secret SECRET] [--issuer URL]
                                 [--audience AUD] [--no-seed]
               Scalekit.Emulator token --help

          --port           port on 127.0.0.1 (default 5380; 0 picks a free one)
          --http2-port     also serve cleartext HTTP/2 only (h2c, prior knowledge) on this port, for an API
                           with Scalekit:Http2=Always (0 picks a free one; default: no such port)
          --client-id      management client id accepted by /oauth/token (default skc_local_emulator)
          --client-secret  management client secret (default test_local_emulator_secret)
          --issuer         iss of minted tokens (default: the base URL)
          --audience       aud of the printed persona tokens (default: the client id)
          --no-seed        start with no organizations instead of Acme and Globex
        """;

    private static readonly HashSet<string> ValueOptions = ["--port", "--http2-port", "--client-id", "--client-secret", "--issuer", "--audience"];
    private static readonly HashSet<string> Flags = ["--no-seed"];

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var parsed = CommandLine.Parse(args, ValueOptions, Flags, out var error);
        if (parsed is null || parsed.HelpRequested)
        {
            (parsed is null ? stderr : stdout).WriteLine(error is null ? Usage : $"{error}\n\n{Usage}");
            return parsed is null ? 2 : 0;
        }

        var port = EmulatorOptions.DefaultCliPort;
        if (parsed.Last("--port") is { } rawPort
            && (!int.TryParse(rawPort, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535))
        {
            await stderr.WriteLineAsync($"--port must be a number from 0 to 65535, not '{rawPort}'.");
            return 2;
        }

        int? http2Port = null;
        if (parsed.Last("--http2-port") is { } rawHttp2Port)
        {
            if (!int.TryParse(rawHttp2Port, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > 65535 || (value != 0 && value == port))
            {
                await stderr.WriteLineAsync($"--http2-port must be a number from 0 to 65535 other than --port, not '{rawHttp2Port}'.");
                return 2;
            }

            http2Port = value;
        }

        // The options' own checks throw; a command line answers with the flag to fix and exit code 2.
        if (InvalidValue(parsed) is { } invalid)
        {
            await stderr.WriteLineAsync(invalid);
            return 2;
        }

        var options = new EmulatorOptions
        {
            Port = port,
            Http2Port = http2Port,
            ClientId = parsed.Last("--client-id") ?? EmulatorOptions.DefaultClientId,
            ClientSecret = parsed.Last("--client-secret") ?? EmulatorOptions.DefaultClientSecret,
            Issuer = parsed.Last("--issuer"),
            SeedOrganizations = !parsed.Has("--no-seed"),
        };

        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        ScalekitEmulator started;
        try
        {
            started = await ScalekitEmulator.StartAsync(options);
        }
        catch (IOException e)
        {
            await stderr.WriteLineAsync(http2Port is null
                ? $"Cannot listen on 127.0.0.1:{port} ({e.Message}). Pick another with --port."
                : $"Cannot listen on 127.0.0.1:{port} or :{http2Port} ({e.Message}). Pick others with --port and --http2-port.");
            return 1;
        }

        await using var emulator = started;
        await PrintBannerAsync(emulator, parsed.Last("--audience") ?? options.ClientId, stdout);
        await stopped.Task;
        await stdout.WriteLineAsync("Stopping.");
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopped.TrySetResult();
        }
    }

    private static string? InvalidValue(CommandLine parsed)
    {
        foreach (var name in (string[])["--client-id", "--client-secret", "--audience"])
        {
            if (parsed.Last(name) is { } value && string.IsNullOrWhiteSpace(value))
            {
                return $"{name} must not be empty.";
            }
        }

        return parsed.Last("--issuer") is { } issuer
               && (!Uri.TryCreate(issuer, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            ? $"--issuer must be an absolute http:// or https:// URL, not '{issuer}'."
            : null;
    }

    private static string Http2Line(ScalekitEmulator emulator) => emulator.Http2BaseUrl is { } http2
        ? $"\n  HTTP/2 only    {http2.GetLeftPart(UriPartial.Authority)} (h2c; an API needs Scalekit:Http2=Always and Scalekit:Issuers:0={emulator.Issuer})"
        : "";

    private static async Task PrintBannerAsync(ScalekitEmulator emulator, string audience, TextWriter stdout)
    {
        await stdout.WriteLineAsync($"""
            Scalekit emulator listening on {emulator.BaseUrl.GetLeftPart(UriPartial.Authority)}{Http2Line(emulator)}
              issuer         {emulator.Issuer}
              client id      {emulator.Options.ClientId}
              client secret  {emulator.Options.ClientSecret}
            """);
        foreach (var organization in emulator.Store.Organizations)
        {
            await stdout.WriteLineAsync($"  organization   {organization.Id}  {organization.DisplayName} (external id {organization.ExternalId})");
        }

        await stdout.WriteLineAsync($"\nPersona access tokens (aud {audience}, valid 24 h):");
        foreach (var persona in emulator.Personas(audience))
        {
            await stdout.WriteLineAsync($"  {persona.Name}: {persona.Description}\n    {persona.Token}");
        }

        await stdout.WriteLineAsync("\nMint more: dotnet run --project src/Scalekit.Emulator -- token --help\nPress Ctrl+C to stop.");
    }
}
