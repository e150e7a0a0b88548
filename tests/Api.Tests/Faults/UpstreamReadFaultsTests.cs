using System.Diagnostics;
using System.Net;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Faults;

/// <summary>Faults on reads, which the resilience pipeline may retry (within the configured bound).</summary>
public sealed class UpstreamReadFaultsTests : IClassFixture<ApiFixture>
{
    private const string Path = "/api/v1/organizations/org_1";
    private readonly ApiFixture _api;
    private readonly HttpClient _client;

    public UpstreamReadFaultsTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization("org_1");
        _client = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));
    }

    private int Reads => _api.Fake.Requests("GET", Path).Count;

    // Answers with each of the given faults once, in order; afterwards the fake's default (the organization).
    private void FailInOrder(params Func<IResponseBuilder>[] faults)
    {
        var scenario = Guid.NewGuid().ToString();
        for (var i = 0; i < faults.Length; i++)
        {
            var stub = _api.Fake.Server.Given(Request.Create().WithPath(Path).UsingGet()).AtPriority(1).InScenario(scenario);
            // A scenario starts without a state: only the later steps name the one they follow.
            (i == 0 ? stub : stub.WhenStateIs($"fault-{i}")).WillSetStateTo($"fault-{i + 1}").RespondWith(faults[i]());
        }
    }

    [Fact]
    public async Task A500ThenA503AreRetriedAndTheThirdAttemptSucceeds()
    {
        FailInOrder(() => Response.Create().WithStatusCode(500), () => Response.Create().WithStatusCode(503));

        var response = await _client.GetAsync("/organizations/org_1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, Reads);
    }

    [Fact]
    public async Task PersistentServerErrorsStopAtTheConfiguredRetriesWith502()
    {
        _api.Fake.Server.Given(Request.Create().WithPath(Path).UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));

        var response = await _client.GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        // Scalekit:Resilience:Retry:MaxRetryAttempts is 2 in the tests: one call and two retries, never more.
        Assert.Equal(3, Reads);
    }

    [Fact]
    public async Task AConnectionResetIsRetriedAndTheNextAttemptSucceeds()
    {
        _api.Fake.BreakNextConnection("GET", Path, afterHandling: false);

        var response = await _client.GetAsync("/organizations/org_1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, _api.Fake.BrokenConnections);
        Assert.Equal(1, Reads);
    }

    [Fact]
    public async Task AShortRetryAfterOn429IsWaitedOutThenTheReadSucceeds()
    {
        FailInOrder(() => Response.Create().WithStatusCode(429).WithHeader("Retry-After", "1"));
        var started = Stopwatch.StartNew();

        var response = await _client.GetAsync("/organizations/org_1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, Reads);
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(0.9), $"retried after {started.Elapsed}, before Retry-After");
    }
}

/// <summary>A hanging Scalekit: attempts time out, are retried, and the whole call ends within the total timeout.</summary>
public sealed class UpstreamTimeoutTests
{
    [Fact]
    public async Task AHangingReadIs504WithinTheConfiguredTotalTimeoutAfterRetryingTimedOutAttempts()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization("org_1");
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:00.400",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:01",
            // Retries enough to hang for 8 s and more: only the total timeout ends the call after about one second.
            ["Scalekit:Resilience:Retry:MaxRetryAttempts"] = "20",
            // The token endpoint shares these timeouts: a first fetch slowed by a busy machine may miss 400 ms, and is
            // then asked again at once rather than answered 503 for the cooldown.
            ["Scalekit:TokenFetchCooldown"] = "00:00:00",
        });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).Machine(Tokens.OrgA, ["organizations:read_all"]));
        await WarmUp.UntilOkAsync(client, "/organizations/org_1");

        var warmReads = fake.Requests("GET", "/api/v1/organizations/org_1").Count;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.HangGets("/api/v1/organizations/org_1", release.Task);
        var started = Stopwatch.StartNew();

        var response = await client.GetAsync("/organizations/org_1");
        var elapsed = started.Elapsed;
        release.SetResult();

        await ProblemAssert.IsProblem(response, HttpStatusCode.GatewayTimeout);
        // Far from both ends: a busy machine adds seconds to the 504's first answer, and without the total timeout the
        // 21 attempts of 400 ms would take over 8 s.
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"took {elapsed} with a 1 s total timeout");
        await fake.WhenReceived("GET", "/api/v1/organizations/org_1", warmReads + 2);
    }
}
