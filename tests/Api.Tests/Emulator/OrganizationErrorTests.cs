using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Api.Organizations;
using Scalekit.Emulator;

namespace Api.Tests.Emulator;

public sealed class OrganizationErrorTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private static string Repeat(char c, int count) => new(c, count);

    private static string MetadataJson(int pairs, int keyLength = 5, int valueLength = 5) =>
        JsonSerializer.Serialize(Enumerable.Range(0, pairs).ToDictionary(
            i => i.ToString("D2") + Repeat('k', keyLength - 2),
            _ => Repeat('v', valueLength)));

    public static TheoryData<string, string> InvalidCreateBodies => new()
    {
        { """{}""", "display_name" },
        { """{"display_name":""}""", "display_name" },
        { $$"""{"display_name":"{{Repeat('x', 201)}}"}""", "display_name" },
        { $$"""{"display_name":"{{string.Concat(Enumerable.Repeat("\U0001F600", 201))}}"}""", "display_name" },
        { """{"display_name":42}""", "display_name" },
        { $$"""{"display_name":"M","metadata":{{MetadataJson(11)}}}""", "metadata" },
        { """{"display_name":"M","metadata":{"ab":"v"}}""", "metadata" },
        { $$$"""{"display_name":"M","metadata":{"{{{Repeat('k', 26)}}}":"v"}}""", "metadata" },
        { """{"display_name":"M","metadata":{"key":""}}""", "metadata" },
        { $$$"""{"display_name":"M","metadata":{"key":"{{{Repeat('v', 257)}}}"}}""", "metadata" },
        { """{"display_name":"M","metadata":{"key":7}}""", "metadata" },
        { """{"display_name":"M","slug":"Acme"}""", "slug" },
        { """{"display_name":"M","slug":"-acme"}""", "slug" },
        { """{"display_name":"M","slug":"acme corp"}""", "slug" },
        // One DNS label, as SCALEKIT.md and the API's own rule have it: no dots, no trailing newline.
        { """{"display_name":"M","slug":"acme-eu.prod"}""", "slug" },
        { """{"display_name":"M","slug":"acme\n"}""", "slug" },
        { $$"""{"display_name":"M","slug":"{{Repeat('a', 254)}}"}""", "slug" },
        { """{"display_name":"M","logo_url":"http://acme.example/logo.png"}""", "logo_url" },
        { $$"""{"display_name":"M","logo_url":"https://acme.example/{{Repeat('l', 1004)}}"}""", "logo_url" },
        { """{"display_name":"M","region_code":"APAC"}""", "region_code" },
    };

    public static TheoryData<string> BodiesAtTheLimits => new()
    {
        $$"""{"display_name":"{{Repeat('x', 200)}}"}""",
        $$"""{"display_name":"{{string.Concat(Enumerable.Repeat("\U0001F600", 200))}}"}""",
        $$"""{"display_name":"M","metadata":{{MetadataJson(10, keyLength: 25, valueLength: 256)}}}""",
        $$"""{"display_name":"M","metadata":{{MetadataJson(1, keyLength: 3, valueLength: 1)}}}""",
        $$"""{"display_name":"M","slug":"{{Repeat('a', 253)}}"}""",
        """{"display_name":"M","slug":"acme-eu-prod-2"}""",
        $$"""{"display_name":"M","logo_url":"https://acme.example/{{Repeat('l', 1003)}}"}""",
    };

    [Theory]
    [InlineData("acme")]
    [InlineData("a")]
    [InlineData("acme-eu-2")]
    [InlineData("acme-eu.prod")]
    [InlineData("acme.")]
    [InlineData("acme\n")]
    [InlineData("-acme")]
    [InlineData("acme_eu")]
    public async Task TheEmulatorTakesASlugExactlyWhenTheApisOwnRuleDoes(string slug)
    {
        using var client = await fixture.ManagementClientAsync();
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["display_name"] = "M", ["slug"] = slug });

        using var response = await client.PostAsync("/api/v1/organizations", HttpJson.Json(body));

        var apiTakesIt = Regex.IsMatch(slug, OrganizationRules.SlugRegex);
        Assert.Equal(apiTakesIt ? HttpStatusCode.Created : HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(InvalidCreateBodies))]
    public async Task CreateOutsideScalekitsInputLimitsAnswers400Code3NamingTheField(string body, string field)
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PostAsync("/api/v1/organizations", HttpJson.Json(body));

        await response.AssertFieldViolationAsync(field);
    }

    [Theory]
    [MemberData(nameof(BodiesAtTheLimits))]
    public async Task CreateAtScalekitsInputLimitsIsAccepted(string body)
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PostAsync("/api/v1/organizations", HttpJson.Json(body));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task UpdateWithAnEmptyDisplayNameAnswers400()
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PatchAsync(
            $"/api/v1/organizations/{SeedData.GlobexOrganizationId}", HttpJson.Json("""{"display_name":""}"""));

        await response.AssertFieldViolationAsync("display_name");
    }

    [Fact]
    public async Task UpdateCannotChangeTheRegion()
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PatchAsync(
            $"/api/v1/organizations/{SeedData.GlobexOrganizationId}", HttpJson.Json("""{"region_code":"US"}"""));

        await response.AssertFieldViolationAsync("region_code");
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("PATCH", "")]
    [InlineData("DELETE", "")]
    [InlineData("PATCH", "/settings")]
    [InlineData("PUT", "/portal_links")]
    public async Task OrganizationIdLongerThan32CharactersAnswers400(string method, string suffix)
    {
        using var client = await fixture.ManagementClientAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), $"/api/v1/organizations/org_{Repeat('1', 29)}{suffix}")
        {
            Content = method == "GET" ? null : HttpJson.Json("""{"features":[]}"""),
        };

        using var response = await client.SendAsync(request);

        await response.AssertFieldViolationAsync("id");
    }

    [Theory]
    [InlineData("GET", "/api/v1/organizations/org_404")]
    [InlineData("PATCH", "/api/v1/organizations/org_404")]
    [InlineData("DELETE", "/api/v1/organizations/org_404")]
    [InlineData("PATCH", "/api/v1/organizations/org_404/settings")]
    [InlineData("PUT", "/api/v1/organizations/org_404/portal_links")]
    [InlineData("GET", "/api/v1/organizations:external/nobody")]
    [InlineData("GET", "/api/v1/no-such-route")]
    public async Task UnknownOrganizationOrRouteAnswers404Code5(string method, string path)
    {
        using var client = await fixture.ManagementClientAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "GET" ? null : HttpJson.Json("""{"features":[]}"""),
        };

        using var response = await client.SendAsync(request);

        await response.AssertScalekitErrorAsync(HttpStatusCode.NotFound, 5, "NOT_FOUND");
    }

    [Fact]
    public async Task CreateWithATakenExternalIdAnswers409Code6()
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PostAsync(
            "/api/v1/organizations", HttpJson.Json("""{"display_name":"Copycat","external_id":"acme"}"""));

        await response.AssertScalekitErrorAsync(HttpStatusCode.Conflict, 6, "ALREADY_EXISTS");
    }

    [Fact]
    public async Task UpdateToAnotherOrganizationsExternalIdAnswers409Code6()
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PatchAsync(
            $"/api/v1/organizations/{SeedData.GlobexOrganizationId}", HttpJson.Json("""{"external_id":"acme"}"""));

        await response.AssertScalekitErrorAsync(HttpStatusCode.Conflict, 6, "ALREADY_EXISTS");
    }

    [Theory]
    [InlineData("POST", "/api/v1/organizations")]
    [InlineData("PATCH", "/api/v1/organizations/" + SeedData.AcmeOrganizationId)]
    [InlineData("PATCH", "/api/v1/organizations/" + SeedData.AcmeOrganizationId + "/settings")]
    public async Task MalformedJsonAnswers400Code3(string method, string path)
    {
        using var client = await fixture.ManagementClientAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = HttpJson.Json("""{"display_name": """) };

        using var response = await client.SendAsync(request);

        await response.AssertScalekitErrorAsync(HttpStatusCode.BadRequest, 3, "INVALID_ARGUMENT");
    }

    [Theory]
    [InlineData("""{"features":{"name":"sso"}}""")]
    [InlineData("""{"features":[{"enabled":true}]}""")]
    [InlineData("""{"features":[{"name":"sso","enabled":"yes"}]}""")]
    public async Task SettingsWithMalformedFeaturesAnswer400(string body)
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PatchAsync(
            $"/api/v1/organizations/{SeedData.AcmeOrganizationId}/settings", HttpJson.Json(body));

        await response.AssertFieldViolationAsync("features");
    }

    [Theory]
    [InlineData("page_size=101", "page_size")]
    [InlineData("page_size=-1", "page_size")]
    [InlineData("page_size=ten", "page_size")]
    [InlineData("page_token=not-a-token", "page_token")]
    public async Task ListWithABadPageSizeOrTokenAnswers400(string query, string field)
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.GetAsync($"/api/v1/organizations?{query}");

        await response.AssertFieldViolationAsync(field);
    }

    [Fact]
    public async Task ListAcceptsThePageSizeLimit()
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.GetAsync("/api/v1/organizations?page_size=100");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task PortalLinkForAnUnknownFeatureAnswers400()
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PutAsync(
            $"/api/v1/organizations/{SeedData.AcmeOrganizationId}/portal_links?features=billing", content: null);

        await response.AssertFieldViolationAsync("features");
    }
}
