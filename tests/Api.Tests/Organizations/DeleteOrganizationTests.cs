using System.Net;

namespace Api.Tests.Organizations;

public sealed class DeleteOrganizationTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _platform;

    public DeleteOrganizationTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA);
        _platform = _api.Client(_api.Tokens.Machine(Tokens.OrgB, ["organizations:write_all", "organizations:read_all"]));
    }

    [Fact]
    public async Task DeleteIs204WithoutABodyAndTheOrganizationIsGone()
    {
        var response = await _platform.DeleteAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        var call = Assert.Single(_api.Fake.Requests("DELETE", "/api/v1/organizations"));
        Assert.Equal($"/api/v1/organizations/{Tokens.OrgA}", call.RequestMessage.Path);
        Assert.Equal($"Bearer {_api.Fake.CurrentManagementToken}", call.RequestMessage.Headers!["Authorization"].Single());
        Assert.Null(_api.Fake.Stored(Tokens.OrgA));

        var again = await _platform.GetAsync($"/organizations/{Tokens.OrgA}");
        await ProblemAssert.IsProblem(again, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DeletingAMissingOrganizationIs404()
    {
        var response = await _platform.DeleteAsync("/organizations/org_999");

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Single(_api.Fake.Requests("DELETE", "/api/v1/organizations/org_999"));
    }

    [Fact]
    public async Task AnIdThatCannotBeAScalekitIdIs404WithoutAnUpstreamCall()
    {
        var response = await _platform.DeleteAsync($"/organizations/{new string('x', 33)}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Empty(_api.Fake.Requests("DELETE", "/api/v1"));
    }

    [Fact]
    public async Task ADeleteIsNeverRetried()
    {
        _api.Fake.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgA}").UsingDelete()).AtPriority(1)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(503));

        var response = await _platform.DeleteAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Single(_api.Fake.Requests("DELETE", "/api/v1"));
        Assert.NotNull(_api.Fake.Stored(Tokens.OrgA));
    }

    // RFC 9110 §13.1.1: this API issues no entity tags, so an If-Match naming one cannot hold.
    [Fact]
    public async Task AnIfMatchNamingAnEntityTagIs412AndTheOrganizationStays()
    {
        await ProblemAssert.RefusesIfMatch(_platform, new HttpRequestMessage(HttpMethod.Delete, $"/organizations/{Tokens.OrgA}"));

        Assert.Empty(_api.Fake.Requests("DELETE", "/api/v1"));
        Assert.NotNull(_api.Fake.Stored(Tokens.OrgA));
    }
}
