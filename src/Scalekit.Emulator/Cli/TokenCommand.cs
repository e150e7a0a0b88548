using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Scalekit.Emulator.DevTools;

namespace Scalekit.Emulator.Cli;

/// <summary>
/// <c>token --oid org_... --permission organizations:read ...</c>: asks a running emulator to mint an access token
/// with its current key and prints just the token, so it composes: <c>curl -H "Authorization: Bearer $(...)"</c>.
/// </summary>
internal static class TokenCommand
{
    public const string Usage = """
        Usage: Scalekit.Emulator token [--sub ID] [--oid ORG] [--aud AUD]... [--role R]... [--permission P]...
                                       [--scope S]... [--lifetime SECONDS] [--url URL]

          Prints an access token signed by the running emulator at --url (default http://127.0.0.1:5380).
          --sub       subject (default usr_200000000000000001); an m2morg_ subject makes a machine-to-machine token
          --oid       organization id claim (e.g. org_100000000000000001, Acme)
          --aud       audience, repeatable (default: the emulator's client id)
          --role, --permission, --scope   repeatable; scopes go to the 'scopes' array claim
          --lifetime  seconds until exp (default 86400, at most 315360000: ten years)
        """;

    private static readonly HashSet<string> ValueOptions =
        ["--sub", "--oid", "--aud", "--role", "--permission", "--scope", "--lifetime", "--url"];

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<int> RunAsync(
        string[] args, TextWriter stdout, TextWriter stderr, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var parsed = CommandLine.Parse(args, ValueOptions, new HashSet<string>(), out var error);
        if (parsed is null || parsed.HelpRequested)
        {
            await (parsed is null ? stderr : stdout).WriteLineAsync(error is null ? Usage : $"{error}\n\n{Usage}");
            return parsed is null ? 2 : 0;
        }

        // An empty claim value mints a token the API refuses for a reason far from the typo (aud [""]: bad_audience).
        foreach (var name in (string[])["--sub", "--oid", "--aud", "--role", "--permission", "--scope"])
        {
            if (parsed.All(name).Any(string.IsNullOrWhiteSpace))
            {
                await stderr.WriteLineAsync($"{name} must not be empty.");
                return 2;
            }
        }

        long? lifetime = null;
        if (parsed.Last("--lifetime") is { } rawLifetime)
        {
            if (!long.TryParse(rawLifetime, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                || seconds is < 1 or > DevToolsEndpoints.MaxLifetimeSeconds)
            {
                await stderr.WriteLineAsync(
                    $"--lifetime must be a number of seconds from 1 to {DevToolsEndpoints.MaxLifetimeSeconds} (ten years), not '{rawLifetime}'.");
                return 2;
            }

            lifetime = seconds;
        }

        var url = parsed.Last("--url") ?? $"http://127.0.0.1:{EmulatorOptions.DefaultCliPort}";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            await stderr.WriteLineAsync($"--url must be an absolute http:// URL, not '{url}'.");
            return 2;
        }

        var request = new DevTokenRequest(
            Sub: parsed.Last("--sub") ?? SeedData.AcmeMemberUserId,
            Oid: parsed.Last("--oid"),
            Aud: parsed.All("--aud"),
            Roles: parsed.All("--role"),
            Permissions: parsed.All("--permission"),
            Scopes: parsed.All("--scope"),
            LifetimeSeconds: lifetime);

        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = timeout ?? TimeSpan.FromSeconds(10) };
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync(DevToolsEndpoints.TokensPath, request, Json, ct);
        }
        catch (HttpRequestException e)
        {
            await stderr.WriteLineAsync($"No emulator answered at {baseUrl} ({e.Message}). Start one with: dotnet run --project src/Scalekit.Emulator");
            return 1;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            // HttpClient.Timeout: something accepted the connection but never answered.
            await stderr.WriteLineAsync($"No answer from {baseUrl} within {http.Timeout.TotalSeconds:0.#} s. Is an emulator listening there?");
            return 1;
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                await stderr.WriteLineAsync($"The emulator at {baseUrl} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
                return 1;
            }

            // A 2xx from something that is not the emulator (another server on that port) is not a token.
            MintedToken? minted;
            try
            {
                minted = await response.Content.ReadFromJsonAsync<MintedToken>(Json, ct);
            }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
                minted = null;
            }

            if (minted?.AccessToken is not { Length: > 0 } token)
            {
                await stderr.WriteLineAsync($"{baseUrl} answered {(int)response.StatusCode} without a token: is it a Scalekit emulator?");
                return 1;
            }

            await stdout.WriteLineAsync(token);
            return 0;
        }
    }
}
