using System.Net;
using System.Text.Json;

namespace Api.Tests.Organizations;

public sealed class CurrentOrganizationTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public CurrentOrganizationTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme");
        _api.Fake.AddOrganization(Tokens.OrgB, "Globex");
    }

    [Fact]
    public async Task CurrentIsTheOrganizationOfTheTokensOid()
    {
        var response = await _api.Client(_api.Tokens.User(Tokens.OrgB, ["organizations:read"])).GetAsync("/organizations/current");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Tokens.OrgB, body.RootElement.GetProperty("id").GetString());
        Assert.Equal("Globex", body.RootElement.GetProperty("displayName").GetString());
        var call = Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations"));
        Assert.Equal($"/api/v1/organizations/{Tokens.OrgB}", call.RequestMessage.Path);
        Assert.Equal($"Bearer {_api.Fake.CurrentManagementToken}", call.RequestMessage.Headers!["Authorization"].Single());
    }

    [Fact]
    public async Task WhenTheCallersOrganizationNoLongerExistsCurrentIs404()
    {
        var response = await _api.Client(_api.Tokens.Machine("org_gone", ["organizations:read"])).GetAsync("/organizations/current");

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations/org_gone"));
    }

    [Fact]
    public async Task AnOidThatCannotBeAScalekitIdIs404WithoutAnUpstreamCall()
    {
        var response = await _api.Client(_api.Tokens.User("org/../keys", ["organizations:read"])).GetAsync("/organizations/current");

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }
}
