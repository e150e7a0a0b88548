using System.Net;
using System.Net.Http.Json;
using Api.Infrastructure;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Infrastructure;

/// <summary>An API with one allowed browser origin, as a team with its SPA on another origin configures it.</summary>
public sealed class CorsFixture() : ApiFixture(new Dictionary<string, string?> { ["Cors:AllowedOrigins:0"] = CorsTests.App });

public sealed class CorsTests : IClassFixture<CorsFixture>
{
    public const string App = "https://app.example.com";
    private const string Stranger = "https://evil.example";

    private readonly CorsFixture _api;

    public CorsTests(CorsFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme");
    }

    private static HttpRequestMessage Preflight(string origin, string method, string path = $"/organizations/{Tokens.OrgA}")
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type,idempotency-key");
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    [Fact]
    public async Task APreflightFromTheAllowedOriginIsAnsweredWithoutAToken()
    {
        var response = await _api.Client().SendAsync(Preflight(App, "PATCH"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(App, Header(response, "Access-Control-Allow-Origin"));
        Assert.Contains("PATCH", Header(response, "Access-Control-Allow-Methods"));
        var allowed = Header(response, "Access-Control-Allow-Headers")!.ToLowerInvariant();
        Assert.Contains("authorization", allowed);
        Assert.Contains("content-type", allowed);
        Assert.Contains("idempotency-key", allowed);
        Assert.Equal("600", Header(response, "Access-Control-Max-Age"));
        // Bearer tokens only: a browser must never send cookies along.
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task APreflightFromAnotherOriginGetsNoPermission()
    {
        var response = await _api.Client().SendAsync(Preflight(Stranger, "DELETE"));

        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Methods"));
    }

    [Fact]
    public async Task AnAllowedOriginCanReadTheAnswerAndTheHeadersItNeeds()
    {
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read", "organizations:create"]));
        client.DefaultRequestHeaders.Add("Origin", App);

        var read = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        var created = await client.PostAsJsonAsync("/organizations", new { displayName = "Initech" });

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(App, Header(read, "Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var exposed = Header(created, "Access-Control-Expose-Headers")!.ToLowerInvariant();
        Assert.Contains("location", exposed);
        Assert.Contains("retry-after", exposed);
        Assert.Contains("www-authenticate", exposed);
        Assert.Contains("idempotent-replayed", exposed);
    }

    [Fact]
    public async Task AnAllowedOriginCanReadTheHeadersThatSayHowToSendARefusedRequestAgain()
    {
        // The browser hid them: a SPA could not learn the methods a 405 allows, the types a PATCH takes or that a
        // compressed body must be sent plain, though the answers carry them for exactly that.
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create", "organizations:write_all"]));
        client.DefaultRequestHeaders.Add("Origin", App);
        var path = $"/organizations/{Tokens.OrgA}";
        var compressed = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        compressed.Headers.ContentEncoding.Add("gzip");

        var wrongMethod = await client.SendAsync(new HttpRequestMessage(HttpMethod.Put, path));
        var wrongType = await client.PatchAsync(path, new StringContent("[]", System.Text.Encoding.UTF8, "application/json-patch+json"));
        var wrongCoding = await client.PostAsync("/organizations", compressed);

        foreach (var (response, header) in new[] { (wrongMethod, "Allow"), (wrongType, "Accept-Patch"), (wrongCoding, "Accept-Encoding") })
        {
            Assert.True(response.Headers.NonValidated.Contains(header) || response.Content.Headers.NonValidated.Contains(header), $"{response.StatusCode} carries no {header}");
            var exposed = Header(response, "Access-Control-Expose-Headers")!.Split(',');
            Assert.Contains(header, exposed, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task ErrorsReachTheAllowedOriginToo()
    {
        // A 401 written by the bearer challenge, and a 502 written by the exception handler, which clears the
        // response before writing: the SPA must be able to read both Problem Details.
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgB}").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        var anonymous = _api.Client();
        anonymous.DefaultRequestHeaders.Add("Origin", App);
        var reader = _api.Client(_api.Tokens.User(Tokens.OrgB, ["organizations:read"]));
        reader.DefaultRequestHeaders.Add("Origin", App);

        var unauthorized = await anonymous.GetAsync($"/organizations/{Tokens.OrgA}");
        var badGateway = await reader.GetAsync($"/organizations/{Tokens.OrgB}");

        await ProblemAssert.IsProblem(unauthorized, HttpStatusCode.Unauthorized);
        Assert.Equal(App, Header(unauthorized, "Access-Control-Allow-Origin"));
        await ProblemAssert.IsProblem(badGateway, HttpStatusCode.BadGateway);
        Assert.Equal(App, Header(badGateway, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task AnotherOriginGetsNoCorsHeadersOnAnActualRequest()
    {
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        client.DefaultRequestHeaders.Add("Origin", Stranger);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task WithoutAllowedOriginsOutsideDevelopmentNoOriginIsAllowed()
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();

        var preflight = await client.SendAsync(Preflight(App, "GET"));

        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
        Assert.NotEqual(HttpStatusCode.NoContent, preflight.StatusCode);
    }
}

public sealed class CorsPolicyTests
{
    [Fact]
    public void DevelopmentWithoutAllowedOriginsLetsLocalDevServersCallAndNobodyElse()
    {
        var policy = CrossOrigin.PolicyFor(new CrossOriginOptions(), isDevelopment: true)!;

        Assert.True(policy.IsOriginAllowed("http://localhost:5173"));
        Assert.True(policy.IsOriginAllowed("http://127.0.0.1:3000"));
        Assert.False(policy.IsOriginAllowed("https://evil.example"));
        Assert.False(policy.IsOriginAllowed("http://localhost.evil.example"));
        Assert.Null(CrossOrigin.PolicyFor(new CrossOriginOptions(), isDevelopment: false));
    }

    [Fact]
    public void ConfiguredOriginsReplaceTheDevelopmentDefaultAndMatchAsBrowsersSendThem()
    {
        var policy = CrossOrigin.PolicyFor(new CrossOriginOptions { AllowedOrigins = ["https://app.example.com:443/"] }, isDevelopment: true)!;

        Assert.True(policy.IsOriginAllowed("https://app.example.com"));
        Assert.False(policy.IsOriginAllowed("http://localhost:5173"));
        Assert.True(CrossOrigin.PolicyFor(new CrossOriginOptions { AllowedOrigins = ["*"] }, isDevelopment: false)!.AllowAnyOrigin);
    }

    [Theory]
    [InlineData("https://app.example.com/spa")]
    [InlineData("app.example.com")]
    [InlineData("ftp://app.example.com")]
    [InlineData("https://user@app.example.com")]
    [InlineData("https://*.example.com")]
    public void AnythingButAnOriginIsRejectedNamingTheKey(string origin)
    {
        var options = new CrossOriginOptions { AllowedOrigins = ["https://ok.example.com", origin] };

        var failure = new CrossOriginOptionsValidator().Validate(null, options).FailureMessage;

        Assert.Contains("Cors:AllowedOrigins:1", failure);
        Assert.DoesNotContain("Cors:AllowedOrigins:0", failure);
    }

    [Fact]
    public void AStarAmongOtherOriginsOrANegativeMaxAgeIsRejectedNamingTheKey()
    {
        var options = new CrossOriginOptions { AllowedOrigins = ["https://app.example.com", "*"], PreflightMaxAge = TimeSpan.FromSeconds(-1) };

        var failure = new CrossOriginOptionsValidator().Validate(null, options).FailureMessage;

        Assert.Contains("Cors:AllowedOrigins:1", failure);
        Assert.Contains("Cors:PreflightMaxAge", failure);
        Assert.True(new CrossOriginOptionsValidator().Validate(null, new CrossOriginOptions()).Succeeded);
    }
}
