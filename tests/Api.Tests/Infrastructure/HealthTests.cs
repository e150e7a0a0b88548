using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Infrastructure;

public sealed class HealthTests
{
    [Fact]
    public async Task ReadyIsHealthyWhenKeysAndAManagementTokenAreAvailable()
    {
        using var fixture = new ApiFixture();
        var client = fixture.Client();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(1, fixture.Fake.TokenRequests);
    }

    [Fact]
    public async Task ReadyIsUnhealthyButLiveStaysUpWhenTheJwksIsUnreachable()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1).RespondWith(Response.Create().WithStatusCode(500));
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();

        var live = await client.GetAsync("/health/live");
        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        await ProblemAssert.IsProblem(ready, HttpStatusCode.ServiceUnavailable);
        // The cache headers of every other answer, not the health middleware's own.
        foreach (var probe in new[] { live, ready })
        {
            Assert.Equal("no-store", probe.Headers.CacheControl?.ToString());
            Assert.False(probe.Headers.Contains("Pragma"));
            Assert.Null(probe.Content.Headers.Expires);
        }
    }

    [Fact]
    public async Task ReadinessResultsAreCachedSoProbesDoNotHammerScalekit()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1).RespondWith(Response.Create().WithStatusCode(500));
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Scalekit:Resilience:Retry:MaxRetryAttempts"] = "1" });
        var client = factory.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("Degraded", await ReadyStatus(client));
        }

        Assert.Equal(2, fake.TokenRequests);
    }

    [Fact]
    public async Task AnUnreachableTokenEndpointLeavesTheReplicaInRotationAsDegraded()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1).RespondWith(Response.Create().WithStatusCode(503));
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();

        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Degraded", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("Degraded", body.RootElement.GetProperty("checks").GetProperty("scalekit").GetProperty("status").GetString());
    }

    [Fact]
    public async Task AHangingTokenEndpointIsDegradedWithinAProbesTimeout()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(504).WithDelay(TimeSpan.FromSeconds(20)));
        // appsettings.json's timeouts, not the tests' short ones: the token fetch alone may take 15 s.
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:05",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:15",
        });
        var client = factory.CreateClient();
        // A Kubernetes probe gives up after its timeout; waiting out Scalekit's 15 s would fail it.
        client.Timeout = TimeSpan.FromSeconds(8);

        Assert.Equal("Degraded", await ReadyStatus(client));
    }

    [Fact]
    public async Task RejectedClientCredentialsAreNotReady()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("""{"error":"invalid_client"}"""));
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();

        var problem = await ProblemAssert.IsProblem(await client.GetAsync("/health/ready"), HttpStatusCode.ServiceUnavailable);

        Assert.Contains("credentials", problem.GetProperty("checks").GetProperty("scalekit").GetProperty("description").GetString());
    }

    [Fact]
    public async Task ReadyIsDegradedWhenScalekitRefusesConnectionsThoughAManagementTokenIsCached()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        fixture.Fake.Server.Stop();
        // The fake finishes stopping in the background: a pooled connection may still be served for a moment.
        await Poll.UntilAsync(async () => (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode == HttpStatusCode.BadGateway,
            "Scalekit refuses connections");
        var (status, description, body) = await ReadyCheck(fixture.Client());

        Assert.Equal("Degraded", status);
        Assert.Contains("could not be reached", description);
        Assert.DoesNotContain("mgmt-", body);
        Assert.DoesNotContain(ScalekitFake.ClientSecret, body);
        Assert.Equal(1, fixture.Fake.TokenRequests);
    }

    [Fact]
    public async Task ReadyIsDegradedWhileTheManagementApisCircuitIsOpen()
    {
        using var fake = new ScalekitFake();
        var clock = new ShiftedClock();
        var (factory, client) = Faults.CircuitBreakerTests.FailingReads(fake, clock, "00:10:00");
        using var owned = factory;
        await client.GetAsync("/organizations/org_1");
        await ProblemAssert.IsProblem(await client.GetAsync("/organizations/org_2"), HttpStatusCode.ServiceUnavailable);

        // The failed calls are no longer recent: only the open circuit tells.
        clock.Offset = UpstreamHealth.RecentFailure + TimeSpan.FromSeconds(1);
        var (status, description, _) = await ReadyCheck(factory.CreateClient());

        Assert.Equal("Degraded", status);
        Assert.Contains("circuit is open", description);
    }

    [Fact]
    public async Task ReadyIsDegradedAfterAFailedCallAndHealthyAgainOnceACallSucceeds()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var clock = new ShiftedClock();
        using var factory = new ApiFactory(fake, services: services => services.AddSingleton<TimeProvider>(clock));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        var outage = Guid.NewGuid();
        fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/*").UsingGet()).AtPriority(1).WithGuid(outage)
            .RespondWith(Response.Create().WithStatusCode(503));

        await ProblemAssert.IsProblem(await client.GetAsync($"/organizations/{Tokens.OrgA}"), HttpStatusCode.BadGateway);
        var (duringOutage, description, _) = await ReadyCheck(factory.CreateClient());
        fake.Server.DeleteMapping(outage);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        // Past the readiness cache.
        clock.Offset = TimeSpan.FromSeconds(6);
        var (afterRecovery, _, _) = await ReadyCheck(factory.CreateClient());

        Assert.Equal("Degraded", duringOutage);
        Assert.Contains("answered 503", description);
        Assert.Equal("Healthy", afterRecovery);
    }

    // The API client's access revoked in Scalekit: every call answers 502, yet readiness said Healthy. Degraded, not
    // Unhealthy: every replica is refused alike, and out of rotation they would turn clear 502s (and the 401s and
    // cached reads they still give) into connection errors without bringing the access back.
    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task ReadyIsDegradedWhenTheManagementApiRefusesEvenAFreshManagementToken(int refusal)
    {
        using var fixture = new ApiFixture();
        fixture.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/*").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(refusal).WithBody("""{"code":7,"message":"permission denied"}"""));
        var client = fixture.Client(fixture.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));

        await ProblemAssert.IsProblem(await client.GetAsync("/organizations/org_1"), HttpStatusCode.BadGateway);
        var (status, description, body) = await ReadyCheck(fixture.Client());

        Assert.Equal("Degraded", status);
        Assert.Contains("refused this API's client", description);
        Assert.DoesNotContain("mgmt-", body);
    }

    [Fact]
    public async Task AnExpiredManagementTokenThatIsReplacedLeavesReadyHealthy()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        fixture.Fake.RevokeManagementToken("mgmt-1");

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        var (status, description, _) = await ReadyCheck(fixture.Client());

        Assert.True(status == "Healthy", $"{status}: {description}");
        Assert.Equal(2, fixture.Fake.TokenRequests);
    }

    [Fact]
    public async Task AHangingScalekitMakesReadyDegradedOnceTheAttemptTimesOut()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization("org_1");
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:00.400",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:01",
            // The token endpoint shares these timeouts (see WarmUp).
            ["Scalekit:TokenFetchCooldown"] = "00:00:00",
        });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).Machine(Tokens.OrgA, ["organizations:read_all"]));
        await WarmUp.UntilOkAsync(client, "/organizations/org_1");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.HangGets("/api/v1/organizations/org_1", release.Task);

        await ProblemAssert.IsProblem(await client.GetAsync("/organizations/org_1"), HttpStatusCode.GatewayTimeout);
        release.SetResult();
        var (status, description, _) = await ReadyCheck(factory.CreateClient());

        Assert.Equal("Degraded", status);
        Assert.Contains("did not answer in time", description);
    }

    [Fact]
    public async Task ACallerHangingUpMidCallSaysNothingAboutScalekit()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        // The held rename outlasts the wait for the server to notice the hang-up: under the default 2 s attempt a busy
        // machine timed it out first (a 504 answered, a "timeout" counted) and the hang-up was never seen.
        using var factory = new ApiFactory(fake, ApiFactory.UnhurriedSettings());
        // Over a real socket, so that hanging up reaches the server and cancels its Scalekit call, as in production.
        var address = factory.StartOnLoopback();
        using var calls = new MetricCollector<long>(factory.Services.GetRequiredService<IMeterFactory>(), ApiMetrics.MeterName, ApiMetrics.UpstreamCalls);
        using var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, roles: ["admin"]));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.HoldNextOrganizationUpdate(arrived, release.Task);
        using var hangUp = new CancellationTokenSource();

        var rename = client.PatchAsync($"/organizations/{Tokens.OrgA}",
            new StringContent("""{"displayName":"Acme Renamed"}""", Encoding.UTF8, "application/json"), hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rename);
        // The server has cancelled its Scalekit call (counted as cancelled, not as a Scalekit timeout) before readiness is asked.
        await Poll.UntilAsync(() => calls.GetMeasurementSnapshot().Any(m => Equals(m.Tags["outcome"], "cancelled")),
            "the hang-up cancels the Scalekit call");
        Assert.DoesNotContain(calls.GetMeasurementSnapshot(), m => Equals(m.Tags["outcome"], "timeout"));
        release.SetResult();
        var (status, description, _) = await ReadyCheck(client);

        Assert.True(status == "Healthy", $"{status}: {description}");
    }

    private static async Task<(string? Status, string? Description, string Body)> ReadyCheck(HttpClient client)
    {
        var ready = await client.GetAsync("/health/ready");
        var text = await ready.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(text);
        var check = body.RootElement.GetProperty("checks").GetProperty("scalekit");
        return (check.GetProperty("status").GetString(), check.GetProperty("description").GetString(), text);
    }

    private static async Task<string?> ReadyStatus(HttpClient client)
    {
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("status").GetString();
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task ProbesReadWithGetOrHeadAndRefuseOtherMethods(string path)
    {
        using var fixture = new ApiFixture();
        var client = fixture.Client();

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path))).StatusCode);
        foreach (var method in new[] { HttpMethod.Delete, HttpMethod.Post, HttpMethod.Put, new HttpMethod("FOO") })
        {
            var response = await client.SendAsync(new HttpRequestMessage(method, path));
            await ProblemAssert.IsProblem(response, HttpStatusCode.MethodNotAllowed);
            Assert.Equal(["GET", "HEAD"], response.Content.Headers.Allow.Order());
        }
    }
}
