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
}
