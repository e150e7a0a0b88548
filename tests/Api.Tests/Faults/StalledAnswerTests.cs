using System.Net;
using Api.Tests.Idempotency;

namespace Api.Tests.Faults;

/// <summary>
/// Scalekit sends its status and headers, then stalls mid-body. The resilience timeouts must cover the body as well
/// as the headers: otherwise a read waits until its caller gives up, and a create (which runs on when its caller
/// hangs up) waits for ever.
/// </summary>
public sealed class StalledAnswerTests : IClassFixture<StalledAnswerFixture>, IDisposable
{
    // Far above the fixture's 4 s attempts: only a hang reaches it.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly StalledAnswerFixture _api;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StalledAnswerTests(StalledAnswerFixture api)
    {
        _api = api;
        _api.Fake.Reset();
    }

    public void Dispose() => _release.TrySetResult();

    [Fact]
    public async Task AReadWhoseAnswerStallsMidBodyIsCutByTheAttemptTimeoutAndRetried()
    {
        _api.Fake.AddOrganization("org_1");
        var client = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));
        _api.Fake.StallNextAnswerBody("GET", "/api/v1/organizations/org_1", _release.Task);

        var response = await client.GetAsync("/organizations/org_1").WaitAsync(Deadline);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, _api.Fake.StalledAnswers);
        Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations/org_1"));
    }

    [Fact]
    public async Task ACreateWhoseAnswerStallsMidBodyIs504AtItsAttemptTimeoutAndIsNotRetried()
    {
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        _api.Fake.StallNextAnswerBody("POST", "/api/v1/organizations", _release.Task);

        // The create does not follow its caller's cancellation (it runs to its end), so the test's deadline cannot
        // cancel it either: it only stops waiting. A create whose body read no timeout covered would reach it.
        var response = await client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Stalled Ltd" }, key: null)).WaitAsync(Deadline);

        await ProblemAssert.IsProblem(response, HttpStatusCode.GatewayTimeout);
        // Sent once: the stalled answer, and no retry (which would have reached the fake's own create).
        Assert.Equal(1, _api.Fake.StalledAnswers);
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    // WireMock sends every body chunked, so no other test declares a Content-Length over the limit. Refused at its
    // headers (ResponseBufferingHandler, and LoadIntoBufferAsync's own check of the declared length): were the body read
    // first, the bytes that never come would hold the read until the attempt timeout, and the retry would be answered.
    // The attempts here are long (not what is tested), so only the refusal at the headers answers 502 with one call.
    [Fact]
    public async Task AnAnswerDeclaringABodyOver4MiBIsRefusedAtItsHeadersWithoutWaitingForTheBody()
    {
        using var api = new UnhurriedApiFixture();
        api.Fake.AddOrganization("org_1");
        var client = api.Client(api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));
        api.Fake.StallNextAnswerBody("GET", "/api/v1/organizations/org_1", _release.Task,
            declaredLength: Api.Scalekit.ResponseBufferingHandler.MaxBodyBytes + 1);

        var response = await client.GetAsync("/organizations/org_1");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Equal("Scalekit answered with an unexpected body.", problem.GetProperty("detail").GetString());
        Assert.Contains("larger than", api.Factory.Logs.AllText());
        Assert.Equal(1, api.Fake.StalledAnswers);
        Assert.Empty(api.Fake.Requests("GET", "/api/v1/organizations/org_1"));
    }
}

/// <summary>
/// Attempts of 4 s, 12 s in all: long enough on a loaded machine for the stalled call to reach the fake and for a cut
/// read's retry to be answered (under the 1 s attempts of <see cref="FaultInjection.ShortTimeouts"/> a create timed out
/// before it reached the fake, and a read's retry was cut too), and far below the tests' 20 s deadline, which only a
/// hang reaches.
/// </summary>
public sealed class StalledAnswerFixture() : ApiFixture(new Dictionary<string, string?>
{
    ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:04",
    ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:12",
    ["Scalekit:TokenFetchCooldown"] = "00:00:00",
});
