using System.Net;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Scalekit;

public sealed class ManagementTokenTests
{
    [Fact]
    public async Task ManyRequestsShareOneManagementToken()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]));

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => client.GetAsync($"/organizations/{Tokens.OrgA}")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, fixture.Fake.TokenRequests);
        Assert.Equal(30, fixture.Fake.Requests("GET", "/api/v1/organizations").Count);
    }

    [Fact]
    public async Task TheTokenIsSentAsFormCredentialsInTheBody()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        await fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"])).GetAsync($"/organizations/{Tokens.OrgA}");

        var call = Assert.Single(fixture.Fake.Requests("POST", "/oauth/token"));
        Assert.StartsWith("application/x-www-form-urlencoded", call.RequestMessage.Headers!["Content-Type"].Single());
        Assert.Contains("grant_type=client_credentials", call.RequestMessage.Body);
        Assert.False(call.RequestMessage.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task ARevokedTokenIsRefreshedOnceForConcurrentRequestsAndEachCallRetriedOnce()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        // Scalekit revokes mgmt-1: from now on only a freshly issued token is accepted.
        fixture.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/*").UsingGet()
                .WithHeader("Authorization", "Bearer mgmt-1")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("""{"code":16,"message":"token expired"}"""));

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.GetAsync($"/organizations/{Tokens.OrgA}")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(2, fixture.Fake.TokenRequests);
    }

    [Fact]
    public async Task RejectedClientCredentialsAre502AndTheSecretIsNeverEchoed()
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Scalekit:ClientSecret"] = "wrong-secret-value" });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        var text = await response.Content.ReadAsStringAsync() + factory.Logs.AllText();
        Assert.DoesNotContain("wrong-secret-value", text);
    }

    [Fact]
    public async Task AnUnreachableTokenEndpointIs503WithRetryAfter()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503));
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Empty(fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task ARateLimitedTokenEndpointIsAPrompt503CarryingItsRetryAfter()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "60"));
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        // Not a 504 after the token client waited out (part of) the minute inside its own pipeline.
        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.RetryAfter?.Delta);
        Assert.Equal(1, fake.TokenRequests);
        Assert.Empty(fake.Requests("GET", "/api/v1"));
    }

    // The fake's organization routes accept "mgmt-0" until the fake itself issues a token.
    [Theory]
    [InlineData("""{"access_token":"mgmt-0","token_type":"Bearer"}""")]
    [InlineData("""{"access_token":"mgmt-0","token_type":"Bearer","expires_in":0}""")]
    public async Task ATokenWithoutALifetimeIsReusedNotFetchedForEveryCall(string tokenBody)
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        fixture.Fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(tokenBody));
        var client = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]));

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        }

        Assert.Equal(1, fixture.Fake.TokenRequests);
    }
}
