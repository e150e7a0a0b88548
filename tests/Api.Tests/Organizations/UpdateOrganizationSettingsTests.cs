using System.Net;
using System.Text;
using System.Text.Json;

namespace Api.Tests.Organizations;

public sealed class UpdateOrganizationSettingsTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _admin;

    public UpdateOrganizationSettingsTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA);
        _admin = _api.Client(_api.Tokens.User(Tokens.OrgA, roles: ["admin"]));
    }

    private Task<HttpResponseMessage> Patch(string json, string id = Tokens.OrgA) =>
        _admin.PatchAsync($"/organizations/{id}/settings", new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task FeaturesAreSentAsScalekitsSettingsBodyAndTheOrganizationIsReturned()
    {
        var response = await Patch("""{"features":[{"name":"sso","enabled":false},{"name":"dir_sync","enabled":true}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(_api.Fake.Requests("PATCH", "/api/v1/organizations"));
        Assert.Equal($"/api/v1/organizations/{Tokens.OrgA}/settings", call.RequestMessage.Path);
        Assert.Equal("""{"features":[{"name":"sso","enabled":false},{"name":"dir_sync","enabled":true}]}""", call.RequestMessage.Body);

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Tokens.OrgA, body.RootElement.GetProperty("id").GetString());
        var features = body.RootElement.GetProperty("settings").GetProperty("features").EnumerateArray()
            .ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("enabled").GetBoolean());
        Assert.Equal(new Dictionary<string, bool> { ["sso"] = false, ["dir_sync"] = true }, features);
    }

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { """{}""", "features" },
        { """{"features":null}""", "features" },
        { """{"features":[]}""", "features" },
        { """{"features":[null]}""", "features[0]" },
        { """{"features":[{"enabled":true}]}""", "features[0].name" },
        { """{"features":[{"name":"","enabled":true}]}""", "features[0].name" },
        { """{"features":[{"name":"s s o","enabled":true}]}""", "features[0].name" },
        // Names are compared exactly: "SSO" would set a second feature beside "sso", not change it.
        { """{"features":[{"name":"SSO","enabled":true}]}""", "features[0].name" },
        { """{"features":[{"name":"sso"}]}""", "features[0].enabled" },
        { """{"features":[{"name":"sso","enabled":true},{"name":"sso","enabled":false}]}""", "features" },
        { """{"features":[{"name":"sso","enabled":true},{"name":"SSO","enabled":false}]}""", "features" },
        { $$"""{"features":[{{string.Join(",", Enumerable.Range(0, 21).Select(i => $$"""{"name":"f{{i}}","enabled":true}"""))}}]}""", "features" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task AnInvalidSettingsBodyIs400KeyedByFieldWithNoUpstreamCall(string json, string field)
    {
        var response = await Patch(json);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Theory]
    [InlineData("""{"features":[{"name":"sso","enabled":"yes"}]}""")]
    [InlineData("""{"features":{"sso":true}}""")]
    [InlineData("{")]
    public async Task MalformedJsonIs400WithNoUpstreamCall(string json)
    {
        var response = await Patch(json);

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Fact]
    public async Task AMissingOrganizationIs404()
    {
        var writer = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:write_all"]));

        var response = await writer.PatchAsync("/organizations/org_999/settings",
            new StringContent("""{"features":[{"name":"sso","enabled":true}]}""", Encoding.UTF8, "application/json"));

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Single(_api.Fake.Requests("PATCH", "/api/v1/organizations/org_999/settings"));
    }

    [Fact]
    public async Task AFeatureScalekitRejectsIs400KeyedByFeatures()
    {
        _api.Fake.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgA}/settings").UsingPatch()).AtPriority(1)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(400).WithBody("""
                {"code":3,"message":"bad","details":[{"@type":"type.googleapis.com/scalekit.v1.errdetails.ErrorInfo","validation_error_info":{"field_violations":[{"field":"features","description":"unknown feature"}]}}]}
                """));

        var response = await Patch("""{"features":[{"name":"teleport","enabled":true}]}""");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.Equal("unknown feature", problem.GetProperty("errors").GetProperty("features")[0].GetString());
    }

    private void ScalekitAnswers(string featuresJson) =>
        _api.Fake.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgA}/settings").UsingPatch()).AtPriority(1)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody($$"""{"organization":{"id":"{{Tokens.OrgA}}","settings":{"features":""" + featuresJson + "}}}"));

    private static Dictionary<string, bool> FeaturesOf(JsonElement organization) =>
        organization.GetProperty("settings").GetProperty("features").EnumerateArray()
            .ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("enabled").GetBoolean());

    [Fact]
    public async Task ANullFeatureEntryInScalekitsAnswerIsSkippedLikeANamelessOne()
    {
        ScalekitAnswers("""[{"name":"sso","enabled":true},null,{"enabled":true}]""");

        var response = await Patch("""{"features":[{"name":"sso","enabled":true}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(new Dictionary<string, bool> { ["sso"] = true }, FeaturesOf(body.RootElement));
    }

    [Fact]
    public async Task AFeatureWhoseEnabledIsNullInScalekitsAnswerIsOffAsProto3JsonReadsIt()
    {
        ScalekitAnswers("""[{"name":"sso","enabled":null},{"name":"dir_sync"},{"name":"mfa","enabled":true}]""");

        var response = await Patch("""{"features":[{"name":"sso","enabled":false}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(new Dictionary<string, bool> { ["sso"] = false, ["dir_sync"] = false, ["mfa"] = true }, FeaturesOf(body.RootElement));
    }

    // RFC 9110 §13.1.1: this API issues no entity tags, so an If-Match naming one cannot hold.
    [Fact]
    public async Task AnIfMatchNamingAnEntityTagIs412AndNoFeatureIsChanged()
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, $"/organizations/{Tokens.OrgA}/settings")
        {
            Content = new StringContent("""{"features":[{"name":"sso","enabled":true}]}""", System.Text.Encoding.UTF8, "application/json"),
        };

        await ProblemAssert.RefusesIfMatch(_admin, request);

        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }
}
