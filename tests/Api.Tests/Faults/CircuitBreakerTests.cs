using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Faults;

public sealed class CircuitBreakerTests
{
    [Fact]
    public async Task PersistentFailuresOpenTheCircuitAndLaterCallsFailFastWithoutReachingScalekit()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/*").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        // Unhurried: a call that waited on Scalekit (an attempt of 20 s) or for the break (30 s) could not pass for
        // failing fast, whatever a busy machine adds to one that does.
        using var factory = new ApiFactory(fake, ApiFactory.UnhurriedSettings(
            ("Scalekit:Resilience:CircuitBreaker:MinimumThroughput", "2"),
            ("Scalekit:Resilience:CircuitBreaker:FailureRatio", "0.5"),
            ("Scalekit:Resilience:CircuitBreaker:BreakDuration", "00:00:30")));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).Machine(Tokens.OrgA, ["organizations:read_all", "organizations:create"]));

        // The circuit opens during the tripping read: its break has run at most this long when the later calls answer.
        var sinceBeforeTheBreak = Stopwatch.StartNew();
        var tripping = await client.GetAsync("/organizations/org_1");
        var callsWhileClosed = fake.Requests("GET", "/api/v1/organizations").Count;
        var started = Stopwatch.StartNew();
        var read = await client.GetAsync("/organizations/org_2");
        var create = await client.PostAsJsonAsync("/organizations", new { displayName = "Blocked" });
        var fastFailed = started.Elapsed;
        var breakRan = sinceBeforeTheBreak.Elapsed;

        Assert.True(tripping.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable);
        Assert.InRange(callsWhileClosed, 2, 3);
        foreach (var open in new[] { read, create })
        {
            await ProblemAssert.IsProblem(open, HttpStatusCode.ServiceUnavailable);
            // What remains of the 30 s break, rounded up: a busy machine may have spent a second or more of it already.
            Assert.InRange(open.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(30) - breakRan, TimeSpan.FromSeconds(30));
        }

        Assert.Equal(callsWhileClosed, fake.Requests("GET", "/api/v1/organizations").Count);
        Assert.Empty(fake.Requests("POST", "/api/v1/organizations"));
        // Far from both ends: in-process answers take well under a second, even on a loaded machine; waiting on an
        // attempt or on the break would take 20 s or 30 s.
        Assert.True(fastFailed < TimeSpan.FromSeconds(10), $"open circuit took {fastFailed}");
    }

    // Retry-After was the whole break duration on every fail-fast answer, however much of it had passed: a client
    // told "30" twenty seconds in came back ten seconds after the circuit let calls through again.
    [Fact]
    public async Task AnOpenCircuitsRetryAfterIsWhatRemainsOfItsBreak()
    {
        using var fake = new ScalekitFake();
        var clock = new ShiftedClock();
        var (factory, client) = FailingReads(fake, clock, "00:00:30");
        using var owned = factory;
        // The circuit opens during the first read: by each answer its break has run at most this long (plus the shift).
        var sinceBeforeTheBreak = Stopwatch.StartNew();
        await client.GetAsync("/organizations/org_1");
        var opened = await client.GetAsync("/organizations/org_2");
        var ranWhenOpened = sinceBeforeTheBreak.Elapsed;

        clock.Offset = TimeSpan.FromSeconds(20);
        var later = await client.GetAsync("/organizations/org_3");
        var ranWhenLater = sinceBeforeTheBreak.Elapsed;

        await ProblemAssert.IsProblem(opened, HttpStatusCode.ServiceUnavailable);
        await ProblemAssert.IsProblem(later, HttpStatusCode.ServiceUnavailable);
        // Rounded up, so never below what remained; a busy machine may have spent seconds of the break between calls.
        Assert.InRange(opened.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(30) - ranWhenOpened, TimeSpan.FromSeconds(30));
        Assert.InRange(later.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(10) - ranWhenLater, TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// An API on <paramref name="clock"/> whose organization reads all fail (500), with a breaker that opens after two
    /// of them for <paramref name="breakDuration"/>, and a client allowed to read any organization.
    /// </summary>
    internal static (ApiFactory Factory, HttpClient Client) FailingReads(ScalekitFake fake, ShiftedClock clock, string breakDuration)
    {
        fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/*").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:CircuitBreaker:MinimumThroughput"] = "2",
            ["Scalekit:Resilience:CircuitBreaker:FailureRatio"] = "0.5",
            ["Scalekit:Resilience:CircuitBreaker:BreakDuration"] = breakDuration,
        }, services => services.AddSingleton<TimeProvider>(clock));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).Machine(Tokens.OrgA, ["organizations:read_all"]));
        return (factory, client);
    }
}
