using System.Net;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Infrastructure;

public sealed class ResponseHeadersTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public ResponseHeadersTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme");
    }

    [Fact]
    public async Task NoAnswerIsForACacheToKeepOrForABrowserToSniff()
    {
        var reader = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgB}").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        var platform = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read_all"]));

        var answers = new[]
        {
            await reader.GetAsync($"/organizations/{Tokens.OrgA}"),        // 200 from the endpoint
            await _api.Client().GetAsync($"/organizations/{Tokens.OrgA}"), // 401 from the bearer challenge
            await reader.GetAsync("/no-such-route"),                         // 404 from the status code pages
            await platform.GetAsync($"/organizations/{Tokens.OrgB}"),      // 502 from the exception handler
        };

        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.NotFound, HttpStatusCode.BadGateway],
            answers.Select(a => a.StatusCode));
        Assert.All(answers, answer => Assert.True(answer.Headers.CacheControl?.NoStore, $"{answer.StatusCode}: {answer.Headers.CacheControl}"));
        Assert.All(answers, answer => Assert.Equal("nosniff", Assert.Single(answer.Headers.GetValues("X-Content-Type-Options"))));
    }

    [Fact]
    public async Task EveryErrorCarriesTheSameCacheHeadersWhicheverPathAnsweredIt()
    {
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgB}").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        var platform = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read_all"]));

        var answers = new[]
        {
            await platform.GetAsync("/organizations/not.an.id"),             // 404 from the handler
            await platform.GetAsync("/organizations/org_404"),               // 404 from the exception handler
            await platform.GetAsync($"/organizations/{Tokens.OrgB}"),        // 502 from the exception handler
            await _api.Client().GetAsync($"/organizations/{Tokens.OrgA}"),   // 401 from the bearer challenge
        };

        Assert.Equal(
            [HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.BadGateway, HttpStatusCode.Unauthorized],
            answers.Select(a => a.StatusCode));
        Assert.All(answers, answer =>
        {
            Assert.Equal("no-store", string.Join(", ", answer.Headers.NonValidated["Cache-Control"]));
            Assert.False(answer.Headers.NonValidated.Contains("Pragma"), $"{answer.StatusCode}: Pragma");
            Assert.False(answer.Content.Headers.NonValidated.Contains("Expires"), $"{answer.StatusCode}: Expires");
        });
    }

    [Fact]
    public async Task NoAnswerNamesTheWebServer()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA, "Acme");
        using var factory = new ApiFactory(fake);
        // Over a real socket: only Kestrel writes the Server header, on the API's answers and on its own refusals.
        var address = factory.StartOnLoopback();
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]);

        var answers = new[]
        {
            await Loopback.SendRawAsync(address,
                $"GET /organizations/{Tokens.OrgA} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
            await Loopback.SendRawAsync(address, "GET /no-such-route HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
            // Kestrel refuses a malformed request line before the API sees it.
            await Loopback.SendRawAsync(address, "GET  /organizations HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
        };

        Assert.Equal(["HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 400"], answers.Select(answer => answer[..12]));
        Assert.All(answers, answer => Assert.DoesNotContain("\r\nServer:", answer[..answer.IndexOf("\r\n\r\n", StringComparison.Ordinal)],
            StringComparison.OrdinalIgnoreCase));
    }
}
