using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Api.Tests.Emulator;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Scalekit.Emulator;

namespace Api.Tests.Organizations;

public sealed class GetOrganizationByExternalIdTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public GetOrganizationByExternalIdTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme", externalId: "crm-a");
        _api.Fake.AddOrganization(Tokens.OrgB, "Globex", externalId: "crm-b");
    }

    private HttpClient ReadAll() => _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));

    [Fact]
    public async Task TheLookupUsesScalekitsExternalRouteWithItsLiteralColon()
    {
        var response = await ReadAll().GetAsync("/organizations/external/crm-b");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Tokens.OrgB, body.RootElement.GetProperty("id").GetString());
        Assert.Equal("crm-b", body.RootElement.GetProperty("externalId").GetString());
        var call = Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations"));
        Assert.Equal("/api/v1/organizations:external/crm-b", call.RequestMessage.Path);
        Assert.EndsWith("/api/v1/organizations:external/crm-b", call.RequestMessage.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExternalIdIsSentAsOneEscapedSegment()
    {
        _api.Fake.AddOrganization("org_300", "Spaced", externalId: "acct 7:eu");

        var response = await ReadAll().GetAsync("/organizations/external/acct%207%3Aeu");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations"));
        Assert.Equal("/api/v1/organizations:external/acct 7:eu", call.RequestMessage.Path);
    }

    [Theory]
    [InlineData("/organizations/external/crm-b/.")]
    [InlineData("/organizations/external/crm-b/%2E")]
    [InlineData("/organizations/external/crm-b/tail/..")]
    [InlineData("/organizations/external/crm-a/../crm-b")]
    public async Task DotSegmentsAreResolvedAsTheServerResolvedThemForRouting(string target)
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgB, "Globex", externalId: "crm-b");
        using var factory = new ApiFactory(fake);
        // Over a real socket: HttpClient resolves dot segments itself, so only Kestrel ever sees them.
        var address = factory.StartOnLoopback();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:read_all"]);

        var answer = await Loopback.SendRawAsync(address,
            $"GET {target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 ", answer, StringComparison.Ordinal);
        Assert.Contains($"\"id\":\"{Tokens.OrgB}\"", answer, StringComparison.Ordinal);
        var call = Assert.Single(fake.Requests("GET", "/api/v1/organizations"));
        Assert.Equal("/api/v1/organizations:external/crm-b", call.RequestMessage.Path);
    }

    [Fact]
    public async Task AnUnknownExternalIdIs404()
    {
        var response = await ReadAll().GetAsync("/organizations/external/crm-unknown");

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations:external/crm-unknown"));
    }

    // Dot segments would be resolved away on the way to Scalekit; the rest break the external-id rule.
    public static TheoryData<string> UnusableExternalIds => ["..", ".", "\u0001", new string('x', 256)];

    [Theory]
    [MemberData(nameof(UnusableExternalIds))]
    public async Task AnExternalIdThatCannotBeLookedUpByPathIs404WithoutAnUpstreamCall(string externalId)
    {
        var token = _api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]);

        // Set on the request as is: HttpClient would resolve the dot segments before the API saw them.
        var context = await _api.Factory.Server.SendAsync(http =>
        {
            http.Request.Method = "GET";
            http.Request.Path = $"/organizations/external/{externalId}";
            http.Request.Headers.Authorization = $"Bearer {token}";
        });

        Assert.Equal(StatusCodes.Status404NotFound, context.Response.StatusCode);
        Assert.Equal("application/problem+json", context.Response.ContentType);
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task WithTheReadGrantAnotherOrganizationsExternalIdIsTheSame404AsAnUnknownOne()
    {
        var reader = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));

        var own = await reader.GetAsync("/organizations/external/crm-a");
        var other = await reader.GetAsync("/organizations/external/crm-b");
        var unknown = await reader.GetAsync("/organizations/external/crm-unknown");

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        var otherProblem = await ProblemAssert.IsProblem(other, HttpStatusCode.NotFound);
        var unknownProblem = await ProblemAssert.IsProblem(unknown, HttpStatusCode.NotFound);
        foreach (var field in new[] { "type", "title", "status", "detail" })
        {
            Assert.Equal(unknownProblem.GetProperty(field).ToString(), otherProblem.GetProperty(field).ToString());
        }

        Assert.DoesNotContain(Tokens.OrgB, await other.Content.ReadAsStringAsync());
        Assert.DoesNotContain("Globex", await other.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnotherOrganizationsExternalIdGetsExactlyTheBodyAndHeadersOfAnUnknownOne()
    {
        var reader = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));

        // Ids of one length, so that the instance member is the only difference the path can make.
        var other = await reader.GetAsync("/organizations/external/crm-b");
        var unknown = await reader.GetAsync("/organizations/external/crm-z");

        var otherProblem = await ProblemAssert.IsProblem(other, HttpStatusCode.NotFound);
        var unknownProblem = await ProblemAssert.IsProblem(unknown, HttpStatusCode.NotFound);
        Assert.Equal(WithoutPerRequestMembers(unknownProblem), WithoutPerRequestMembers(otherProblem));
        // Cache-Control, Pragma and Expires above all: the exception handler's path sets them differently.
        Assert.Equal(StableHeaders(unknown), StableHeaders(other));
    }

    // The members that differ between any two requests: their trace and their path.
    private static string WithoutPerRequestMembers(JsonElement problem) =>
        JsonSerializer.Serialize(problem.EnumerateObject().Where(member => member.Name is not ("traceId" or "instance")).ToDictionary(member => member.Name, member => member.Value));

    // Every response and content header but those that differ between any two responses.
    private static string StableHeaders(HttpResponseMessage response) =>
        string.Join('\n', response.Headers.Concat(response.Content.Headers)
            .Where(header => header.Key is not ("Date" or "traceparent" or "tracestate" or "Request-Id"))
            .OrderBy(header => header.Key, StringComparer.OrdinalIgnoreCase)
            .Select(header => $"{header.Key}: {string.Join(", ", header.Value)}"));

    [Fact]
    public async Task AnUpstreamFailureIs502()
    {
        _api.Fake.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/api/v1/organizations:external/crm-a").UsingGet()).AtPriority(1)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(500));

        var response = await ReadAll().GetAsync("/organizations/external/crm-a");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
    }
}

/// <summary>
/// Over real Kestrel and the emulator: the in-memory test server unescapes "%2F" before the API sees the path, so only
/// a real server shows that "a%2Fb" and "a%252Fb" stay two different external ids.
/// </summary>
public sealed class ExternalIdEscapingTests
{
    [Fact]
    public async Task AnEscapedSlashAndAnEscapedPercentReachScalekitExactly()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions { SeedOrganizations = false });
        using var management = await EmulatorFixture.ManagementClientAsync(emulator);
        var ids = new Dictionary<string, string>();
        foreach (var externalId in new[] { "tenants/42", "tenants%2F42" })
        {
            var created = await management.PostAsJsonAsync("/api/v1/organizations", new Dictionary<string, string> { ["display_name"] = "T", ["external_id"] = externalId });
            ids[externalId] = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("organization").GetProperty("id").GetString()!;
        }

        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            host.UseContentRoot(AppContext.BaseDirectory);
            host.UseEnvironment("Testing");
            host.UseSetting("Scalekit:EnvironmentUrl", emulator.BaseUrl.ToString());
            host.UseSetting("Scalekit:ClientId", emulator.Options.ClientId);
            host.UseSetting("Scalekit:ClientSecret", emulator.Options.ClientSecret);
            host.UseSetting("Scalekit:Audiences:0", "skc_app");
            host.UseSetting("Scalekit:Issuers:0", emulator.Issuer);
        });
        factory.StartOnLoopback();
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", emulator.MintAccessToken(new AccessTokenRequest
        {
            Subject = "m2morg_1", OrganizationId = "org_1", Audiences = ["skc_app"], Scopes = ["organizations:read_all"],
        }));

        var slash = await client.GetFromJsonAsync<JsonElement>("/organizations/external/tenants%2F42");
        var percent = await client.GetFromJsonAsync<JsonElement>("/organizations/external/tenants%252F42");

        Assert.Equal(ids["tenants/42"], slash.GetProperty("id").GetString());
        Assert.Equal(ids["tenants%2F42"], percent.GetProperty("id").GetString());
    }
}
