using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Scalekit.Emulator;
using Scalekit.Emulator.Cli;
using Scalekit.Emulator.DevTools;

namespace Api.Tests.Emulator;

public sealed class DevToolsTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task TokensEndpointMintsAVerifiableTokenWithTheRequestedClaims()
    {
        using var response = await fixture.Http.PostAsync("/_emulator/tokens", HttpJson.Json("""
            {"sub":"usr_9","oid":"org_100000000000000002","aud":["skc_app"],"roles":["admin"],
             "permissions":["organizations:read"],"scopes":["x"],"lifetime_seconds":60}
            """));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var jwt = Jwt.Parse((await response.BodyAsync()).GetProperty("access_token").GetString()!);
        Assert.True(jwt.VerifiesWith(await fixture.Http.GetFromJsonAsync<JsonElement>("/keys")));
        Assert.Equal("usr_9", jwt.Payload.GetProperty("sub").GetString());
        Assert.Equal(SeedData.GlobexOrganizationId, jwt.Payload.GetProperty("oid").GetString());
        Assert.Equal(["skc_app"], jwt.Strings("aud"));
        Assert.Equal(["admin"], jwt.Strings("roles"));
        Assert.Equal(["organizations:read"], jwt.Strings("permissions"));
        Assert.Equal(["x"], jwt.Strings("scopes"));
        Assert.Equal(60, jwt.Payload.GetProperty("exp").GetInt64() - jwt.Payload.GetProperty("iat").GetInt64());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-60)]
    [InlineData(99999999999999999)]
    public async Task TokensEndpointAnswers400ForALifetimeOutOfRange(long lifetimeSeconds)
    {
        using var response = await fixture.Http.PostAsync(
            "/_emulator/tokens", HttpJson.Json($$"""{"sub":"usr_9","lifetime_seconds":{{lifetimeSeconds}}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("lifetime_seconds", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"sub":"usr_9","aud":[""]}""", "aud")]
    [InlineData("""{"sub":"usr_9","oid":" "}""", "oid")]
    [InlineData("""{"sub":"usr_9","roles":["admin",""]}""", "roles")]
    [InlineData("""{"sub":"usr_9","permissions":[""]}""", "permissions")]
    [InlineData("""{"sub":"m2morg_9","scopes":[" "]}""", "scopes")]
    public async Task TokensEndpointAnswers400ForAnEmptyClaimValue(string body, string claim)
    {
        using var response = await fixture.Http.PostAsync("/_emulator/tokens", HttpJson.Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(claim, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task StatsCountRequestsByRoutePatternButNotTheEmulatorsOwnRoutes()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions());
        using var management = await EmulatorFixture.ManagementClientAsync(emulator);
        await management.GetAsync("/keys");
        await management.GetAsync($"/api/v1/organizations/{SeedData.AcmeOrganizationId}");
        await management.GetAsync($"/api/v1/organizations/{SeedData.GlobexOrganizationId}");
        await management.GetAsync("/_emulator/stats");

        var requests = (await management.GetFromJsonAsync<JsonElement>("/_emulator/stats")).GetProperty("requests");

        Assert.Equal(1, requests.GetProperty("POST /oauth/token").GetInt64());
        Assert.Equal(1, requests.GetProperty("GET /keys").GetInt64());
        Assert.Equal(2, requests.GetProperty("GET /api/v1/organizations/{id}").GetInt64());
        Assert.DoesNotContain(requests.EnumerateObject(), property => property.Name.Contains("/_emulator", StringComparison.Ordinal));
        Assert.Equal(2, emulator.Requests.Count("GET", "/api/v1/organizations/{id}"));
    }

    [Fact]
    public async Task DevEndpointsRejectCallersThatAreNotOnLoopback()
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.10");
        var invocation = EndpointFilterInvocationContext.Create(context);
        var reachedEndpoint = false;

        var result = await DevToolsEndpoints.LoopbackOnly(invocation, _ =>
        {
            reachedEndpoint = true;
            return ValueTask.FromResult<object?>(null);
        });

        Assert.False(reachedEndpoint);
        Assert.Equal(StatusCodes.Status403Forbidden, Assert.IsAssignableFrom<IStatusCodeHttpResult>(result).StatusCode);
        Assert.True(DevToolsEndpoints.IsLoopback(IPAddress.IPv6Loopback));
        Assert.False(DevToolsEndpoints.IsLoopback(null));
    }

    [Fact]
    public async Task TokenCommandPrintsOnlyATokenMintedByTheRunningEmulator()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exitCode = await TokenCommand.RunAsync(
            ["--url", fixture.Emulator.BaseUrl.ToString(), "--oid", SeedData.AcmeOrganizationId, "--permission", "organizations:read",
             "--permission", "organizations:create", "--role", "admin", "--scope", "x", "--sub", "usr_7", "--aud", "skc_app"],
            stdout,
            stderr);

        Assert.Equal(0, exitCode);
        Assert.Equal("", stderr.ToString());
        var token = stdout.ToString().TrimEnd('\n');
        Assert.DoesNotContain('\n', token);
        var jwt = Jwt.Parse(token);
        Assert.True(jwt.VerifiesWith(await fixture.Http.GetFromJsonAsync<JsonElement>("/keys")));
        Assert.Equal("usr_7", jwt.Payload.GetProperty("sub").GetString());
        Assert.Equal(["organizations:read", "organizations:create"], jwt.Strings("permissions"));
        Assert.Equal(["admin"], jwt.Strings("roles"));
        Assert.Equal(["x"], jwt.Strings("scopes"));
        Assert.Equal(["skc_app"], jwt.Strings("aud"));
    }

    [Fact]
    public async Task TokenCommandExplainsWhenNoEmulatorAnswers()
    {
        int closedPort;
        await using (var stopped = await ScalekitEmulator.StartAsync(new EmulatorOptions()))
        {
            closedPort = stopped.BaseUrl.Port;
        }

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exitCode = await TokenCommand.RunAsync(["--url", $"http://127.0.0.1:{closedPort}"], stdout, stderr);

        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout.ToString());
        Assert.Contains("No emulator answered", stderr.ToString());
    }

    [Fact]
    public async Task TokenCommandExplainsWhenTheServerAtUrlNeverAnswers()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exitCode = await TokenCommand.RunAsync(["--url", $"http://127.0.0.1:{port}"], stdout, stderr, TimeSpan.FromMilliseconds(300));

        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout.ToString());
        Assert.Contains("No answer from", stderr.ToString());
    }

    [Fact]
    public async Task TokenCommandExplainsWhenTheServerAtUrlIsNotAnEmulator()
    {
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var port = ((IPEndPoint)other.LocalEndpoint).Port;
        var answered = AnswerOnceAsync(other, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exitCode = await TokenCommand.RunAsync(["--url", $"http://127.0.0.1:{port}"], stdout, stderr);
        await answered;

        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout.ToString());
        Assert.Contains("without a token", stderr.ToString());
    }

    [Theory]
    [InlineData("--url", "ftp://127.0.0.1/")]
    [InlineData("--bogus")]
    [InlineData("--oid")]
    [InlineData("--lifetime", "soon")]
    [InlineData("--lifetime", "99999999999999999")]
    [InlineData("--aud", "")]
    [InlineData("--oid", " ")]
    [InlineData("--sub", "")]
    [InlineData("--permission", "organizations:read", "--permission", "")]
    public async Task TokenCommandRejectsBadArgumentsWithExitCode2(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exitCode = await TokenCommand.RunAsync(args, stdout, stderr);

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout.ToString());
        Assert.NotEqual("", stderr.ToString());
    }

    private static async Task AnswerOnceAsync(TcpListener listener, string response)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        var buffer = new byte[8192];
        var received = "";
        while (!received.Contains("\r\n\r\n", StringComparison.Ordinal) || !received.Contains('}'))
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                return;
            }

            received += System.Text.Encoding.ASCII.GetString(buffer, 0, read);
        }

        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(response));
    }
}
