using System.Net;
using System.Text.Json;

namespace Api.Tests.Organizations;

public sealed class GetOrganizationTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public GetOrganizationTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, externalId: "crm-1");
    }

    private HttpClient ReadAll() => _api.Client(_api.Tokens.Machine(Tokens.OrgB, ["organizations:read_all"]));

    [Fact]
    public async Task GetMapsScalekitsOrganizationToCamelCase()
    {
        var response = await _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"])).GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var org = body.RootElement;
        Assert.Equal(Tokens.OrgA, org.GetProperty("id").GetString());
        Assert.Equal("Acme", org.GetProperty("displayName").GetString());
        Assert.Equal("crm-1", org.GetProperty("externalId").GetString());
        Assert.Equal("gold", org.GetProperty("metadata").GetProperty("tier").GetString());
        Assert.Equal("US", org.GetProperty("regionCode").GetString());
        Assert.Equal(JsonValueKind.Null, org.GetProperty("logoUrl").ValueKind);
        Assert.Equal("sso", org.GetProperty("settings").GetProperty("features")[0].GetProperty("name").GetString());
        Assert.True(org.GetProperty("settings").GetProperty("features")[0].GetProperty("enabled").GetBoolean());
        Assert.Equal(new DateTimeOffset(2025, 1, 2, 3, 4, 5, 123, TimeSpan.Zero).AddTicks(4567), org.GetProperty("createTime").GetDateTimeOffset());
        Assert.False(org.TryGetProperty("someFutureField", out _));
        Assert.False(org.TryGetProperty("some_future_field", out _));

        var call = Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations"));
        Assert.Equal($"/api/v1/organizations/{Tokens.OrgA}", call.RequestMessage.Path);
    }

    [Theory]
    [InlineData("org_" + "0123456789012345678901234567890")]
    [InlineData("org%20100")]
    [InlineData("org.100")]
    [InlineData("org%2F100")]
    public async Task AnIdThatCannotBeAScalekitIdIsNotFoundWithoutAnUpstreamCall(string id)
    {
        var response = await ReadAll().GetAsync($"/organizations/{id}");

        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, response.StatusCode.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }
}
