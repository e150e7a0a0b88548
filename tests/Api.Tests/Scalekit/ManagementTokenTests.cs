using System.Net;
using Microsoft.Extensions.DependencyInjection;
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
        fixture.Fake.RevokeManagementToken("mgmt-1");

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.GetAsync($"/organizations/{Tokens.OrgA}")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(2, fixture.Fake.TokenRequests);
    }

    // The API client's access revoked: each call dropped the token it had just fetched and fetched another (one token
    // request and two calls per request), hammering the token endpoint into rate-limiting the whole environment.
    [Fact]
    public async Task AClientScalekitRefusesCostsOneTokenFetchPerCooldownNotOnePerCall()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/*").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("""{"code":16,"message":"unauthenticated"}"""));
        var clock = new ShiftedClock();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Scalekit:TokenFetchCooldown"] = "00:00:30" },
            services => services.AddSingleton<TimeProvider>(clock));
        var client = Reader(factory, fake);

        for (var i = 0; i < 5; i++)
        {
            await ProblemAssert.IsProblem(await client.GetAsync($"/organizations/{Tokens.OrgA}"), HttpStatusCode.BadGateway);
        }

        var (fetches, calls) = (fake.TokenRequests, fake.Requests("GET", "/api/v1/organizations").Count);
        clock.Offset = TimeSpan.FromSeconds(31);
        await ProblemAssert.IsProblem(await client.GetAsync($"/organizations/{Tokens.OrgA}"), HttpStatusCode.BadGateway);

        // The first token and its one replacement; the first request re-sent once, the others sent once each.
        Assert.Equal(2, fetches);
        Assert.Equal(6, calls);
        // The cooldown over, the refused token is replaced once more.
        Assert.Equal(3, fake.TokenRequests);
    }

    [Fact]
    public async Task RejectedClientCredentialsAre502AndTheSecretIsNeverEchoed()
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Scalekit:ClientSecret"] = "wrong-secret-value" });
        var client = Reader(factory, fake);

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
        var client = Reader(factory, fake);

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
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        // Not a 504 after the token client waited out (part of) the minute inside its own pipeline.
        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.RetryAfter?.Delta);
        Assert.Equal(1, fake.TokenRequests);
        Assert.Empty(fake.Requests("GET", "/api/v1"));
    }

    // Waited out, the endpoint's 2 s outlasted the token client's 1 s total timeout: callers got the configured
    // cooldown instead of the endpoint's own Retry-After, after a wait that could not succeed.
    [Fact]
    public async Task ATokenEndpointRetryAfterThatWouldOutlastTheTotalTimeoutIsNotWaitedOut()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503).WithHeader("Retry-After", "2"));
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:00.500",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:01",
            ["Scalekit:TokenFetchCooldown"] = "00:00:30",
        });
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Equal(1, fake.TokenRequests);
    }

    [Fact]
    public async Task ATokenAnswerInACharsetThatNamesNoEncodingIsAFailedFetchNotA500()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json; charset=bogus")
                .WithBody("""{"access_token":"mgmt-0","token_type":"Bearer","expires_in":3600}"""));
        using var factory = new ApiFactory(fake);
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter);
        // Scalekit's outage, not refused credentials: readiness stays 200 (Degraded).
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(1, fake.TokenRequests);
    }

    [Theory]
    [InlineData("mgmt-0\\nX-Injected: 1")]
    [InlineData("mgmt-0\\u0000")]
    [InlineData("mgmt 0")]
    public async Task AnAccessTokenThatCannotTravelInAHeaderIsAFailedFetchNotA500(string accessToken)
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody($$"""{"access_token":"{{accessToken}}","token_type":"Bearer","expires_in":3600}"""));
        using var factory = new ApiFactory(fake);
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Empty(fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task ACompressedTokenAnswerThatDoesNotDecompressIsAFailedFetchNotA500()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithHeader("Content-Encoding", "gzip").WithBody("not gzip"));
        using var factory = new ApiFactory(fake);
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Theory]
    [InlineData("""{"token_type":"Bearer","expires_in":3600}""", "without an access_token")]
    [InlineData("""{"access_token":""", "with unreadable JSON")]
    [InlineData("""{"access_token":"mgmt-0","token_type":"DPoP","expires_in":3600}""", "a token_type other than Bearer")]
    [InlineData("""{"access_token":"mgmt-0","token_type":"mac","expires_in":3600}""", "a token_type other than Bearer")]
    public async Task ATokenAnswerWithoutAUsableTokenIsLoggedByWhatWasWrong(string tokenBody, string logged)
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(tokenBody));
        using var factory = new ApiFactory(fake);
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Contains(factory.Logs.Events, e => e.Level == Serilog.Events.LogEventLevel.Warning
            && e.RenderMessage().Contains("token endpoint answered", StringComparison.Ordinal)
            && e.RenderMessage().Contains(logged, StringComparison.Ordinal));
    }

    // The fake's organization routes accept "mgmt-0" until the fake itself issues a token.
    [Theory]
    [InlineData("""{"access_token":"mgmt-0","token_type":"Bearer"}""")]
    [InlineData("""{"access_token":"mgmt-0","token_type":"bearer"}""")]
    [InlineData("""{"access_token":"mgmt-0"}""")]
    [InlineData("""{"access_token":"mgmt-0","token_type":""}""")]
    [InlineData("""{"access_token":"mgmt-0","token_type":"Bearer","expires_in":0}""")]
    [InlineData("""{"access_token":"mgmt-0","token_type":"Bearer","expires_in":1e-300}""")]
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

    // RFC 6749 says only "number": a fraction, an exponent or a value past a 64-bit integer is still a lifetime.
    [Theory]
    [InlineData("3599.5")]
    [InlineData("1e30")]
    [InlineData("99999999999999999999")]
    [InlineData("\"86399\"")]
    public async Task ALifetimeThatIsNotA64BitWholeNumberStillServesAndIsReused(string expiresIn)
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        fixture.Fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody($$"""{"access_token":"mgmt-0","token_type":"Bearer","expires_in":{{expiresIn}}}"""));
        var client = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        }

        Assert.Equal(1, fixture.Fake.TokenRequests);
    }

    [Fact]
    public async Task AFailedFetchIsRememberedForTheEndpointsRetryAfterThenTriedOnceMore()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var down = Guid.NewGuid();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1).WithGuid(down)
            .RespondWith(Response.Create().WithStatusCode(503).WithHeader("Retry-After", "10"));
        var clock = new ShiftedClock();
        using var factory = new ApiFactory(fake, services: services => services.AddSingleton<TimeProvider>(clock));
        var client = Reader(factory, fake);

        var first = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        var withinCooldown = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            withinCooldown.Add(await client.GetAsync($"/organizations/{Tokens.OrgA}"));
        }

        var fetchesWithinCooldown = fake.TokenRequests;
        clock.Offset = TimeSpan.FromSeconds(11);
        var afterCooldown = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        var fetchesAfterCooldown = fake.TokenRequests;
        fake.Server.DeleteMapping(down);
        var stillCoolingDown = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        clock.Offset = TimeSpan.FromSeconds(22);
        var recovered = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(first, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(10), first.Headers.RetryAfter?.Delta);
        foreach (var response in withinCooldown.Append(stillCoolingDown))
        {
            await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
            Assert.InRange(response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        }

        Assert.Equal(1, fetchesWithinCooldown);
        await ProblemAssert.IsProblem(afterCooldown, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(2, fetchesAfterCooldown);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(3, fake.TokenRequests);
        Assert.Single(fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task WithoutARetryAfterAFailedFetchIsRememberedForTheConfiguredCooldown()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1).RespondWith(Response.Create().WithStatusCode(500));
        var clock = new ShiftedClock();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Scalekit:TokenFetchCooldown"] = "00:00:08" },
            services => services.AddSingleton<TimeProvider>(clock));
        var client = Reader(factory, fake);

        var first = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        await ProblemAssert.IsProblem(first, HttpStatusCode.ServiceUnavailable);
        // One fetch: a call and the token client's two retries.
        var oneFetch = fake.TokenRequests;
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.GetAsync($"/organizations/{Tokens.OrgA}")));
        var withinCooldown = fake.TokenRequests;
        clock.Offset = TimeSpan.FromSeconds(9);
        await ProblemAssert.IsProblem(await client.GetAsync($"/organizations/{Tokens.OrgA}"), HttpStatusCode.ServiceUnavailable);

        Assert.Equal(3, oneFetch);
        // Told to come back when the endpoint will be asked again: the configured cooldown, not a fixed 5 s.
        Assert.Equal(TimeSpan.FromSeconds(8), first.Headers.RetryAfter?.Delta);
        foreach (var response in concurrent)
        {
            await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
            Assert.InRange(response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));
        }

        Assert.Equal(3, withinCooldown);
        Assert.Equal(6, fake.TokenRequests);
    }

    [Fact]
    public async Task AnOversizedTokenAnswerIsAFailedFetchA503RememberedForTheCooldown()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var huge = "{\"access_token\":\"" + new string('a', 5 * 1024 * 1024) + "\",\"expires_in\":3600}";
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(huge));
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Scalekit:TokenFetchCooldown"] = "00:00:30" });
        var client = Reader(factory, fake);

        var first = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        var fetches = fake.TokenRequests;
        var again = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        var ready = await client.GetAsync("/health/ready");

        await ProblemAssert.IsProblem(first, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(30), first.Headers.RetryAfter?.Delta);
        await ProblemAssert.IsProblem(again, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(fetches, fake.TokenRequests);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"Degraded\"", await ready.Content.ReadAsStringAsync());
        Assert.Empty(fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task ATokenInItsRefreshMarginKeepsServingWhileItsReplacementCannotBeFetched()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        // The fake's organization routes accept "mgmt-0" until the fake itself issues a token. Refreshed after 60 s
        // (120 s lifetime minus the 60 s margin), dead after 120 s.
        var issuing = Guid.NewGuid();
        fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1).WithGuid(issuing)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"access_token":"mgmt-0","token_type":"Bearer","expires_in":120}"""));
        var clock = new ShiftedClock();
        using var factory = new ApiFactory(fake, services: services => services.AddSingleton<TimeProvider>(clock));
        var client = Reader(factory, fake);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        fake.Server.DeleteMapping(issuing);
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "20"));

        clock.Offset = TimeSpan.FromSeconds(90);
        var refreshFailed = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        var withinCooldown = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        var fetchesBeforeExpiry = fake.TokenRequests;
        var ready = await factory.CreateClient().GetAsync("/health/ready");
        clock.Offset = TimeSpan.FromSeconds(121);
        var expired = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, refreshFailed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withinCooldown.StatusCode);
        Assert.Equal(2, fetchesBeforeExpiry);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("Degraded", await ready.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblem(expired, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(3, fake.TokenRequests);
    }

    // A client whose member token may read organization A.
    private static HttpClient Reader(ApiFactory factory, ScalekitFake fake)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));
        return client;
    }
}
