using System.Net;
using System.Text.Json;

namespace Api.Tests.Organizations;

/// <summary>RFC 9110 §9.1: every read answers HEAD with what GET would answer, minus the body.</summary>
public sealed class HeadRequestTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _member;

    public HeadRequestTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme", externalId: "crm-a");
        _member = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));
    }

    [Theory]
    [InlineData("/organizations/" + Tokens.OrgA)]
    [InlineData("/organizations/current")]
    [InlineData("/organizations/external/crm-a")]
    public async Task HeadAnswersLikeGetWithoutABody(string path)
    {
        var get = await _member.GetAsync(path);
        var head = await _member.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
    }

    [Fact]
    public async Task TheRealServerSendsNoBodyForHead()
    {
        using var scalekit = new ScalekitFake();
        scalekit.AddOrganization(Tokens.OrgA, "Acme");
        await using var api = ApiProcess.StartAgainst(scalekit);
        using var http = await api.ClientAsync(new Tokens(scalekit).User(Tokens.OrgA, ["organizations:read"]));

        var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/organizations/{Tokens.OrgA}"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("application/json", head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadGoesThroughTheSamePolicies()
    {
        var head = await _member.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/organizations/{Tokens.OrgB}"));
        var anonymous = await _api.Client().SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/organizations/{Tokens.OrgA}"));

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Empty(_api.Fake.Requests("GET", $"/api/v1/organizations/{Tokens.OrgB}"));
    }

    [Fact]
    public async Task TheOpenApiDocumentListsEachReadOnceAsGet()
    {
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        Assert.True(paths.GetProperty("/organizations/{id}").TryGetProperty("get", out _));
        Assert.All(paths.EnumerateObject(), path => Assert.False(path.Value.TryGetProperty("head", out _), path.Name));
    }
}
