using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Organizations;

public sealed class PortalLinkTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _admin;

    public PortalLinkTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA);
        _admin = _api.Client(_api.Tokens.User(Tokens.OrgA, roles: ["admin"]));
    }

    [Fact]
    public async Task WithoutABodyTheLinkIsGeneratedForEveryFeatureAndReturnedUncached()
    {
        var response = await _admin.PostAsync($"/organizations/{Tokens.OrgA}/portal-links", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoStore);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var link = body.RootElement;
        Assert.StartsWith("lnk_", link.GetProperty("id").GetString());
        Assert.Equal($"https://acme.scalekit.dev/magicLink/{Tokens.OrgA}", link.GetProperty("location").GetString());
        Assert.Equal(new DateTimeOffset(2025, 7, 8, 12, 0, 0, 123, TimeSpan.Zero).AddTicks(4567), link.GetProperty("expireTime").GetDateTimeOffset());
        Assert.Equal(["expireTime", "id", "location"], link.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        var call = Assert.Single(_api.Fake.Requests("PUT", "/api/v1/organizations"));
        Assert.Equal($"/api/v1/organizations/{Tokens.OrgA}/portal_links", call.RequestMessage.Path);
        Assert.True(string.IsNullOrEmpty(call.RequestMessage.RawQuery), call.RequestMessage.RawQuery);
        Assert.True(string.IsNullOrEmpty(call.RequestMessage.Body));
        Assert.Equal($"Bearer {_api.Fake.CurrentManagementToken}", call.RequestMessage.Headers!["Authorization"].Single());
    }

    [Fact]
    public async Task RequestedFeaturesBecomeRepeatedFeaturesQueryParameters()
    {
        var response = await _admin.PostAsJsonAsync($"/organizations/{Tokens.OrgA}/portal-links", new { features = new[] { "sso", "dir_sync", "sso" } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(_api.Fake.Requests("PUT", "/api/v1/organizations"));
        Assert.Equal("?features=sso&features=dir_sync", call.RequestMessage.RawQuery);
    }

    [Fact]
    public async Task AnEmptyJsonBodyAsksForEveryFeature()
    {
        var response = await _admin.PostAsJsonAsync($"/organizations/{Tokens.OrgA}/portal-links", new { });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(string.IsNullOrEmpty(Assert.Single(_api.Fake.Requests("PUT", "/api/v1")).RequestMessage.RawQuery));
    }

    [Theory]
    [InlineData("""{"features":["scim"]}""")]
    [InlineData("""{"features":[null]}""")]
    [InlineData("""{"features":["SSO"]}""")]
    public async Task AnUnknownFeatureIs400WithNoUpstreamCall(string json)
    {
        var response = await _admin.PostAsync($"/organizations/{Tokens.OrgA}/portal-links", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("features[0]", out _), problem.ToString());
        Assert.Empty(_api.Fake.Requests("PUT", "/api/v1"));
    }

    [Fact]
    public async Task AMissingOrganizationIs404()
    {
        var writer = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:write_all"]));

        var response = await writer.PostAsync("/organizations/org_999/portal-links", null);

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Single(_api.Fake.Requests("PUT", "/api/v1/organizations/org_999/portal_links"));
    }

    [Fact]
    public async Task ALinkWithoutALocationIs502()
    {
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgA}/portal_links").UsingPut()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"link":{"id":"lnk_1"}}"""));

        var response = await _admin.PostAsync($"/organizations/{Tokens.OrgA}/portal-links", null);

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
    }

    [Theory]
    [InlineData("javascript:alert(document.cookie)")]
    [InlineData("data:text/html,<script>alert(1)</script>")]
    [InlineData("http://acme.scalekit.dev/magicLink/x")]
    public async Task ALinkWhoseLocationIsNotAnHttpsPageIs502AndNotPassedOn(string location)
    {
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgA}/portal_links").UsingPut()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody(JsonSerializer.Serialize(new { link = new { id = "lnk_1", location, expire_time = "2025-07-08T12:00:00Z" } })));

        var response = await _admin.PostAsync($"/organizations/{Tokens.OrgA}/portal-links", null);

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.DoesNotContain(location, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task APortalLinkIsNeverRetried()
    {
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgA}/portal_links").UsingPut()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503));

        var response = await _admin.PostAsync($"/organizations/{Tokens.OrgA}/portal-links", null);

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Single(_api.Fake.Requests("PUT", "/api/v1"));
    }

    // RFC 9110 §13.1.1: this API issues no entity tags, so an If-Match naming one cannot hold.
    [Fact]
    public async Task AnIfMatchNamingAnEntityTagIs412AndNoLinkIsMade()
    {
        await ProblemAssert.RefusesIfMatch(_admin, new HttpRequestMessage(HttpMethod.Post, $"/organizations/{Tokens.OrgA}/portal-links"));

        Assert.Empty(_api.Fake.Requests("PUT", "/api/v1"));
    }
}
