using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scalekit.Emulator;

namespace Api.Tests.Emulator;

public sealed partial class OrganizationRoutesTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")]
    private static partial Regex NanosecondUtcTimestamp();

    private static string UniqueExternalId() => "ext-" + Guid.NewGuid().ToString("N");

    private async Task<JsonElement> CreateAsync(HttpClient client, string json)
    {
        using var response = await client.PostAsync("/api/v1/organizations", HttpJson.Json(json));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.BodyAsync()).GetProperty("organization");
    }

    [Fact]
    public async Task CreateAnswers201WithTheWholeOrganization()
    {
        using var client = await fixture.ManagementClientAsync();
        var externalId = UniqueExternalId();

        using var response = await client.PostAsync("/api/v1/organizations", HttpJson.Json($$"""
            {"display_name":"Initech","external_id":"{{externalId}}","metadata":{"plan":"pro"},
             "slug":"initech","logo_url":"https://initech.example/logo.png","region_code":"EU","unknown_field":1}
            """));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var organization = (await response.BodyAsync()).GetProperty("organization");
        var id = organization.GetProperty("id").GetString()!;
        Assert.Matches(@"^org_\d+$", id);
        Assert.InRange(id.Length, 5, 32);
        Assert.Equal("Initech", organization.GetProperty("display_name").GetString());
        Assert.Equal(externalId, organization.GetProperty("external_id").GetString());
        Assert.Equal("pro", organization.GetProperty("metadata").GetProperty("plan").GetString());
        Assert.Equal("initech", organization.GetProperty("slug").GetString());
        Assert.Equal("https://initech.example/logo.png", organization.GetProperty("logo_url").GetString());
        Assert.Equal("EU", organization.GetProperty("region_code").GetString());
        Assert.Equal(2, organization.GetProperty("settings").GetProperty("features").GetArrayLength());
        Assert.Matches(NanosecondUtcTimestamp(), organization.GetProperty("create_time").GetString());
        Assert.Matches(NanosecondUtcTimestamp(), organization.GetProperty("update_time").GetString());
        Assert.Equal(id, fixture.Emulator.Store.Find(id)?.Id);
    }

    [Fact]
    public async Task CreateWithOnlyADisplayNameDefaultsToRegionUsAndEmptyMetadata()
    {
        using var client = await fixture.ManagementClientAsync();

        var organization = await CreateAsync(client, """{"display_name":"Minimal"}""");

        Assert.Equal("US", organization.GetProperty("region_code").GetString());
        Assert.Equal(JsonValueKind.Object, organization.GetProperty("metadata").ValueKind);
        Assert.False(organization.TryGetProperty("external_id", out _));
    }

    [Fact]
    public async Task GetReturnsTheOrganizationInAnEnvelope()
    {
        using var client = await fixture.ManagementClientAsync();

        var body = await client.GetFromJsonAsync<JsonElement>($"/api/v1/organizations/{SeedData.AcmeOrganizationId}");

        Assert.Equal(SeedData.AcmeOrganizationId, body.GetProperty("organization").GetProperty("id").GetString());
    }

    [Fact]
    public async Task GetByExternalIdUsesTheLiteralColonExternalPath()
    {
        using var client = await fixture.ManagementClientAsync();

        var body = await client.GetFromJsonAsync<JsonElement>("/api/v1/organizations:external/acme");

        Assert.Equal(SeedData.AcmeOrganizationId, body.GetProperty("organization").GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("team/eu")]
    [InlineData("100% sure")]
    [InlineData("a%2Fb")]
    [InlineData("ümlaut & co")]
    public async Task GetByExternalIdDecodesTheUrlEncodedSegmentExactlyOnce(string externalId)
    {
        using var client = await fixture.ManagementClientAsync();
        var unique = externalId + " " + Guid.NewGuid().ToString("N");
        var created = await CreateAsync(client, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["display_name"] = "Encoded",
            ["external_id"] = unique,
        }));

        var body = await client.GetFromJsonAsync<JsonElement>($"/api/v1/organizations:external/{Uri.EscapeDataString(unique)}");

        Assert.Equal(created.GetProperty("id").GetString(), body.GetProperty("organization").GetProperty("id").GetString());
    }

    [Fact]
    public async Task ListPagesThroughEveryOrganizationWithOpaqueNextAndPreviousTokens()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions { SeedOrganizations = false });
        using var client = await EmulatorFixture.ManagementClientAsync(emulator);
        for (var i = 0; i < 25; i++)
        {
            await CreateAsync(client, $$"""{"display_name":"Org {{i}}"}""");
        }

        var first = await client.GetFromJsonAsync<JsonElement>("/api/v1/organizations");
        var second = await client.GetFromJsonAsync<JsonElement>(
            $"/api/v1/organizations?page_size=10&page_token={first.GetProperty("next_page_token").GetString()}");
        var third = await client.GetFromJsonAsync<JsonElement>(
            $"/api/v1/organizations?page_size=10&page_token={second.GetProperty("next_page_token").GetString()}");
        var backToFirst = await client.GetFromJsonAsync<JsonElement>(
            $"/api/v1/organizations?page_size=10&page_token={second.GetProperty("prev_page_token").GetString()}");

        static string[] Names(JsonElement page) =>
            [.. page.GetProperty("organizations").EnumerateArray().Select(o => o.GetProperty("display_name").GetString()!)];
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"Org {i}"), Names(first));
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"Org {i}"), Names(second));
        Assert.Equal(Enumerable.Range(20, 5).Select(i => $"Org {i}"), Names(third));
        Assert.Equal(Names(first), Names(backToFirst));
        Assert.All(new[] { first, second, third }, page => Assert.Equal(25, page.GetProperty("total_size").GetInt32()));
        Assert.Equal("", first.GetProperty("prev_page_token").GetString());
        Assert.Equal("", third.GetProperty("next_page_token").GetString());
        Assert.NotEqual("", third.GetProperty("prev_page_token").GetString());
    }

    [Fact]
    public async Task ATokenAfterTheLastPossiblePositionAnswersAnEmptyPageNotTheFirstOneAgain()
    {
        using var client = await fixture.ManagementClientAsync();
        // A token the emulator never issued but decodes: after it, nothing can follow.
        var token = global::Scalekit.Emulator.Organizations.PageCursor.After(long.MaxValue).Encode();

        var page = await client.GetFromJsonAsync<JsonElement>($"/api/v1/organizations?page_size=10&page_token={token}");

        Assert.Empty(page.GetProperty("organizations").EnumerateArray());
        Assert.Equal("", page.GetProperty("next_page_token").GetString());
    }

    [Fact]
    public async Task ListFiltersByExternalId()
    {
        using var client = await fixture.ManagementClientAsync();

        var body = await client.GetFromJsonAsync<JsonElement>("/api/v1/organizations?external_id=globex&page_size=100");

        var organization = Assert.Single(body.GetProperty("organizations").EnumerateArray());
        Assert.Equal(SeedData.GlobexOrganizationId, organization.GetProperty("id").GetString());
        Assert.Equal(1, body.GetProperty("total_size").GetInt32());
    }

    [Fact]
    public async Task UpdateChangesOnlyTheFieldsThatWereSent()
    {
        using var client = await fixture.ManagementClientAsync();
        var externalId = UniqueExternalId();
        var created = await CreateAsync(client, $$"""
            {"display_name":"Before","external_id":"{{externalId}}","metadata":{"tier":"gold"},"slug":"before"}
            """);
        var id = created.GetProperty("id").GetString();

        using var response = await client.PatchAsync($"/api/v1/organizations/{id}", HttpJson.Json("""{"display_name":"After"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var updated = (await response.BodyAsync()).GetProperty("organization");
        Assert.Equal("After", updated.GetProperty("display_name").GetString());
        Assert.Equal(externalId, updated.GetProperty("external_id").GetString());
        Assert.Equal("gold", updated.GetProperty("metadata").GetProperty("tier").GetString());
        Assert.Equal("before", updated.GetProperty("slug").GetString());
        Assert.Equal(created.GetProperty("create_time").GetString(), updated.GetProperty("create_time").GetString());
        Assert.True(string.CompareOrdinal(updated.GetProperty("update_time").GetString(), created.GetProperty("update_time").GetString()) >= 0);
    }

    [Fact]
    public async Task UpdateReplacesTheWholeMetadataMapWhenItIsSent()
    {
        using var client = await fixture.ManagementClientAsync();
        var created = await CreateAsync(client, """{"display_name":"Meta","metadata":{"one":"1","two":"2"}}""");

        using var response = await client.PatchAsync(
            $"/api/v1/organizations/{created.GetProperty("id").GetString()}", HttpJson.Json("""{"metadata":{"three":"3"}}"""));

        var metadata = (await response.BodyAsync()).GetProperty("organization").GetProperty("metadata");
        Assert.Equal(["three"], metadata.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task DeleteAnswersAnEmptyObjectAndTheOrganizationIsGone()
    {
        using var client = await fixture.ManagementClientAsync();
        var id = (await CreateAsync(client, """{"display_name":"Doomed"}""")).GetProperty("id").GetString();

        using var deleted = await client.DeleteAsync($"/api/v1/organizations/{id}");
        using var lookup = await client.GetAsync($"/api/v1/organizations/{id}");

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal("{}", await deleted.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Fact]
    public async Task SettingsUpdateChangesTheNamedFeaturesAndKeepsTheOthers()
    {
        using var client = await fixture.ManagementClientAsync();
        var id = (await CreateAsync(client, """{"display_name":"Features"}""")).GetProperty("id").GetString();

        using var response = await client.PatchAsync(
            $"/api/v1/organizations/{id}/settings", HttpJson.Json("""{"features":[{"name":"sso","enabled":true}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var features = (await response.BodyAsync()).GetProperty("organization").GetProperty("settings").GetProperty("features")
            .EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("enabled").GetBoolean());
        Assert.True(features["sso"]);
        Assert.False(features["dir_sync"]);
    }

    [Fact]
    public async Task PortalLinkAnswersAnHttpsLocationThatExpiresInTheFuture()
    {
        using var client = await fixture.ManagementClientAsync();

        using var response = await client.PutAsync(
            $"/api/v1/organizations/{SeedData.AcmeOrganizationId}/portal_links?features=sso&features=dir_sync", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var link = (await response.BodyAsync()).GetProperty("link");
        Assert.StartsWith("lnk_", link.GetProperty("id").GetString());
        Assert.StartsWith("https://", link.GetProperty("location").GetString());
        var expireTime = link.GetProperty("expire_time").GetString()!;
        Assert.Matches(NanosecondUtcTimestamp(), expireTime);
        Assert.True(string.CompareOrdinal(expireTime, DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss")) > 0);
    }

    [Fact]
    public async Task StoreResetForgetsChangesAndRestoresTheSeedOrganizations()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions());
        using var client = await EmulatorFixture.ManagementClientAsync(emulator);
        await CreateAsync(client, """{"display_name":"Temporary"}""");
        using var deleted = await client.DeleteAsync($"/api/v1/organizations/{SeedData.AcmeOrganizationId}");

        emulator.Store.Reset();

        Assert.Equal(
            [SeedData.AcmeOrganizationId, SeedData.GlobexOrganizationId],
            emulator.Store.Organizations.Select(o => o.Id));
        Assert.Equal("acme", emulator.Store.FindByExternalId("acme")?.Slug);
    }
}
