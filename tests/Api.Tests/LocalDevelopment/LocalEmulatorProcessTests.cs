using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Api.Tests.LocalDevelopment;

public sealed partial class LocalEmulatorProcessTests
{
    [Fact]
    public async Task InDevelopmentWithNoScalekitSettingsTheRealApiRunsOfflineAndCreatesThenGetsWithPersonaTokens()
    {
        await using var api = ApiProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });

        await api.WaitForLineAsync("Mint your own:", TimeSpan.FromSeconds(60));
        var baseUrl = ApiLine().Match(api.Output).Groups[1].Value;
        var admin = PersonaToken(api.Output, "admin");
        var platform = PersonaToken(api.Output, "platform");
        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };

        using var create = new HttpRequestMessage(HttpMethod.Post, "/organizations") { Content = JsonContent.Create(new { displayName = "Round Trip Ltd", externalId = "rt-1" }) };
        create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        var created = await http.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        using var get = new HttpRequestMessage(HttpMethod.Get, created.Headers.Location);
        get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", platform);
        var fetched = await http.SendAsync(get);

        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        var body = JsonDocument.Parse(await fetched.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("Round Trip Ltd", body.GetProperty("displayName").GetString());
        Assert.Equal("rt-1", body.GetProperty("externalId").GetString());
        Assert.Contains("Local Scalekit emulator: http://127.0.0.1:", api.Output);

        // The interactive docs exist in Development (and only there: see OpenApiTests).
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/scalar/")).StatusCode);
    }

    [Fact]
    public async Task APortInUseOnTheFirstRunIsOneLineSayingWhatToDoWithoutAStackTrace()
    {
        using var holder = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        await using var api = ApiProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        });

        Assert.Equal(1, await api.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"The API cannot start: Failed to bind to address http://127.0.0.1:{port}: address already in use.", api.Output);
        Assert.Contains("choose another address with --urls", api.Output);
        Assert.DoesNotContain("Hosting failed to start", api.Output);
        Assert.DoesNotContain("   at ", api.Output);
    }

    [Fact]
    public async Task OutsideDevelopmentTheEmulatorNeverStarts()
    {
        await using var api = ApiProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Staging",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });

        Assert.Equal(1, await api.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Scalekit:EnvironmentUrl", api.Output);
        Assert.DoesNotContain("emulator", api.Output, StringComparison.OrdinalIgnoreCase);
    }

    private static string PersonaToken(string output, string persona)
    {
        var lines = output.Split('\n');
        var index = Array.FindIndex(lines, line => line.TrimStart().StartsWith($"# {persona}:", StringComparison.Ordinal));
        Assert.True(index >= 0, $"no {persona} persona in:\n{output}");
        return BearerToken().Match(lines[index + 1]).Groups[1].Value;
    }

    [GeneratedRegex(@"API: (http://\S+)")]
    private static partial Regex ApiLine();

    [GeneratedRegex("Bearer ([A-Za-z0-9_.-]+)")]
    private static partial Regex BearerToken();
}
