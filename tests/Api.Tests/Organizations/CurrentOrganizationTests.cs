using System.Net;
using System.Net.Http.Json;
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

    // Before, PATCH and DELETE went to /organizations/{id} with the id "current" (Scalekit was asked to change or
    // delete an organization of that id), and every other method's 405 listed the {id} route's methods.
    [Theory]
    [InlineData("POST", "/organizations/current")]
    [InlineData("PUT", "/organizations/current")]
    [InlineData("PATCH", "/organizations/current")]
    [InlineData("DELETE", "/organizations/current")]
    [InlineData("OPTIONS", "/organizations/current")]
    [InlineData("TRACE", "/organizations/current")]
    [InlineData("PATCH", "/organizations/current/")]
    [InlineData("DELETE", "/organizations/Current")]
    public async Task AMethodCurrentDoesNotTakeIs405NamingOnlyGetAndHead(string method, string path)
    {
        _api.Fake.AddOrganization("current", "Named current");
        var everything = _api.Tokens.User("current",
            ["organizations:read", "organizations:create", "organizations:delete", "organizations:write_all"], ["admin"]);
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = JsonContent.Create(new { displayName = "Renamed" });
        }

        var response = await _api.Client(everything).SendAsync(request);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.MethodNotAllowed);
        Assert.Equal(["GET", "HEAD"], response.Content.Headers.Allow.Order());
        Assert.Equal($"This endpoint does not take {method}; it takes GET, HEAD.", problem.GetProperty("detail").GetString());
        Assert.Empty(_api.Fake.Requests(method, "/api/v1"));
    }

    [Fact]
    public async Task AnOrganizationIdStillTakesEveryMethodOfItsRoute()
    {
        var response = await _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"])).PutAsync($"/organizations/{Tokens.OrgA}", null);

        await ProblemAssert.IsProblem(response, HttpStatusCode.MethodNotAllowed);
        Assert.Equal(["DELETE", "GET", "HEAD", "PATCH"], response.Content.Headers.Allow.Order());
    }

    [Theory]
    [InlineData("PATCH", "/organizations/current/settings", """{"features":[{"name":"sso","enabled":true}]}""")]
    [InlineData("POST", "/organizations/current/portal-links", "{}")]
    [InlineData("PATCH", "/organizations/external", """{"displayName":"Renamed","metadata":{"tier":"gold"}}""")]
    [InlineData("DELETE", "/organizations/external", null)]
    [InlineData("GET", "/organizations/acme", null)]
    [InlineData("GET", "/organizations/org_", null)]
    public async Task AWordThatCannotBeAScalekitIdIsNotFoundWithoutAManagementCall(string method, string path, string? json)
    {
        // With the names beside {id} in this API's paths organizations in Scalekit's own id space could not be told apart.
        _api.Fake.AddOrganization("current", "Named current");
        _api.Fake.AddOrganization("external", "Named external");
        var anyOrganization = _api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all", "organizations:write_all"]);
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        var response = await _api.Client(anyOrganization).SendAsync(request);

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Empty(_api.Fake.Requests(method, "/api/v1/organizations"));
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1/organizations"));
    }
}
