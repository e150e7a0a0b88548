using System.Net;
using System.Text;
using Api.Infrastructure;
using Api.Organizations;
using Api.SharedState;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Organizations;

/// <summary>
/// Scalekit replaces the whole metadata map, so a merge reads it and writes it back. Two merges to one organization at
/// once must both land: the second must read what the first wrote, on one replica and across replicas.
/// </summary>
public sealed class ConcurrentMetadataTests
{
    private static Task<HttpResponseMessage> Patch(HttpClient client, string json) =>
        client.PatchAsync($"/organizations/{Tokens.OrgA}", new StringContent(json, Encoding.UTF8, "application/json"));

    private static HttpClient Admin(ApiFactory replica, Tokens tokens)
    {
        var client = replica.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(Tokens.OrgA, roles: ["admin"]));
        return client;
    }

    private static async Task AssertOkAsync(Task<HttpResponseMessage> patch)
    {
        var response = await patch;
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static void AssertMetadata(ScalekitFake fake, Dictionary<string, string> expected)
    {
        var metadata = fake.Stored(Tokens.OrgA)!["metadata"]!.AsObject();
        Assert.Equal(expected, metadata.ToDictionary(pair => pair.Key, pair => (string)pair.Value!));
    }

    private static ScalekitFake FakeWithGoldTier()
    {
        var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA, metadata: new() { ["tier"] = "gold" });
        return fake;
    }

    // Scalekit holds every organization read until the release completes; the first task completes when one arrives.
    private static (Task Arrived, TaskCompletionSource Release) HoldReads(ScalekitFake fake)
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.HoldOrganizationReads(arrived, release.Task);
        return (arrived.Task, release);
    }

    [Fact]
    public async Task TwoConcurrentMergesOnOneReplicaBothLand()
    {
        using var fake = FakeWithGoldTier();
        using var replica = new ApiFactory(fake);
        var client = Admin(replica, new Tokens(fake));
        var locks = (LocalOrganizationLocks)replica.Services.GetRequiredService<IOrganizationLocks>();
        var (arrived, release) = HoldReads(fake);

        var first = Patch(client, """{"metadata":{"plan":"pro"}}""");
        await arrived.WaitAsync(TimeSpan.FromSeconds(20));
        var second = Patch(client, """{"metadata":{"seats":"40","tier":null}}""");
        // Either the second merge queues behind the first, or (the bug) it reads the same map beside it.
        await Poll.UntilAsync(() => locks.UsersOf(Tokens.OrgA) == 2 || fake.OrganizationReadsArrived == 2, "the second merge queues or reads");
        release.SetResult();

        await AssertOkAsync(first);
        await AssertOkAsync(second);
        AssertMetadata(fake, new() { ["plan"] = "pro", ["seats"] = "40" });
        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public async Task ChangesWithoutMetadataDoNotWaitForAMerge()
    {
        using var fake = FakeWithGoldTier();
        using var replica = new ApiFactory(fake);
        var client = Admin(replica, new Tokens(fake));
        var (arrived, release) = HoldReads(fake);

        var merge = Patch(client, """{"metadata":{"plan":"pro"}}""");
        await arrived.WaitAsync(TimeSpan.FromSeconds(20));
        var rename = await Patch(client, """{"displayName":"Acme Renamed"}""");
        Assert.False(merge.IsCompleted, "the rename should be answered while the merge still waits for Scalekit");
        release.SetResult();

        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);
        await AssertOkAsync(merge);
        Assert.Equal("Acme Renamed", (string?)fake.Stored(Tokens.OrgA)!["display_name"]);
        AssertMetadata(fake, new() { ["tier"] = "gold", ["plan"] = "pro" });
    }

    [Fact]
    public async Task AWaiterThatGivesUpLeavesNothingBehind()
    {
        var locks = new LocalOrganizationLocks();
        var held = await locks.AcquireAsync("org_1", CancellationToken.None);
        using var giveUp = new CancellationTokenSource();

        var waiting = locks.AcquireAsync("org_1", giveUp.Token).AsTask();
        Assert.Equal(2, locks.UsersOf("org_1"));
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await held.DisposeAsync();
        Assert.Equal(0, locks.Count);
        await using var again = await locks.AcquireAsync("org_1", CancellationToken.None);
        Assert.Equal(1, locks.UsersOf("org_1"));
    }

    [Fact]
    public async Task AMergeStoppedByTheShutdownDeadlineIs503AndKeepsItsTurnFromTheNextMerge()
    {
        using var fake = FakeWithGoldTier();
        // Scalekit's own timeouts far beyond the test: only the deadline can end the write.
        using var replica = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:01:00",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:02:00",
            ["Scalekit:Resilience:CircuitBreaker:SamplingDuration"] = "00:02:00",
            // Such timeouts need a key lease that outlasts a create, or startup stops.
            ["Idempotency:InFlightTimeout"] = "00:05:00",
        });
        var client = Admin(replica, new Tokens(fake));
        var locks = (LocalOrganizationLocks)replica.Services.GetRequiredService<IOrganizationLocks>();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.HoldNextOrganizationUpdate(arrived, release.Task);
        try
        {
            var merge = Patch(client, """{"metadata":{"plan":"pro"}}""");
            await arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
            // What the host does when its shutdown timeout runs out; the test server has no Kestrel to drop the connection.
            await replica.Services.GetRequiredService<ShutdownDeadline>().StoppingAsync(new CancellationToken(canceled: true));

            var response = await merge.WaitAsync(TimeSpan.FromSeconds(10));
            var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
            Assert.Contains("may or may not have been applied", problem.GetProperty("detail").GetString());
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
            Assert.Contains("its outcome is unknown", replica.Logs.AllText());

            // Abandoned, not released: the next merge waits instead of reading the map that write may still replace.
            using var giveUp = new CancellationTokenSource();
            var next = client.PatchAsync($"/organizations/{Tokens.OrgA}",
                new StringContent("""{"metadata":{"seats":"40"}}""", Encoding.UTF8, "application/json"), giveUp.Token);
            await Poll.UntilAsync(() => locks.UsersOf(Tokens.OrgA) == 2 || next.IsCompleted, "the next merge queues or goes ahead");
            Assert.False(next.IsCompleted, "the next merge went ahead while the stopped write could still land");
            Assert.Single(fake.Requests("GET", $"/api/v1/organizations/{Tokens.OrgA}"));
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
            await Poll.UntilAsync(() => locks.UsersOf(Tokens.OrgA) == 1, "the waiter that gave up leaves");
        }
        finally
        {
            release.TrySetResult();
        }
    }

    private static Dictionary<string, string?> WithRedis(RedisServer redis) => new() { ["ConnectionStrings:Redis"] = redis.ConnectionString };

    // A change waits for its turn as long as one Scalekit call may take: a second here.
    private static Dictionary<string, string?> ShortTurnWait(Dictionary<string, string?>? settings = null)
    {
        settings ??= [];
        settings["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:01";
        settings["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:00.500";
        return settings;
    }

    private static async Task AssertBusyAndUntouchedAsync(Task<HttpResponseMessage> patch, ScalekitFake fake)
    {
        // Unbounded, the merge would still be waiting.
        var response = await patch.WaitAsync(TimeSpan.FromSeconds(20));
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("organization_busy", problem.GetProperty("reason").GetString());
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Empty(fake.Requests("GET", "/api/v1/organizations"));
        Assert.Empty(fake.Requests("PATCH", "/api/v1/organizations"));
    }

    [Fact]
    public async Task AMergeThatDoesNotGetItsTurnWithinOneScalekitTimeoutIs503AndReadsAndWritesNothing()
    {
        using var fake = FakeWithGoldTier();
        using var replica = new ApiFactory(fake, ShortTurnWait());
        var client = Admin(replica, new Tokens(fake));
        var locks = (LocalOrganizationLocks)replica.Services.GetRequiredService<IOrganizationLocks>();
        var ahead = await locks.AcquireAsync(Tokens.OrgA, CancellationToken.None);

        await AssertBusyAndUntouchedAsync(Patch(client, """{"metadata":{"plan":"pro"}}"""), fake);
        Assert.Equal(1, locks.UsersOf(Tokens.OrgA));
        await ahead.DisposeAsync();
        Assert.Equal(0, locks.Count);

        await AssertOkAsync(Patch(client, """{"metadata":{"plan":"pro"}}"""));
        AssertMetadata(fake, new() { ["tier"] = "gold", ["plan"] = "pro" });
    }

    [RedisFact]
    public async Task AMergeThatDoesNotGetItsTurnFromAnotherReplicaWithinOneScalekitTimeoutIs503AndReadsAndWritesNothing()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = FakeWithGoldTier();
        using var replicaA = new ApiFactory(fake, ShortTurnWait(WithRedis(redis)));
        // B's Scalekit calls are unhurried: under A's 1 s in all, the merge that follows the refusal (a token fetch, a
        // read and a write) timed out on a loaded machine (504). Through B it still needs the turn A was refused.
        using var replicaB = new ApiFactory(fake, ApiFactory.UnhurriedSettings(("ConnectionStrings:Redis", redis.ConnectionString)));
        var clientA = Admin(replicaA, new Tokens(fake));
        var ahead = await replicaB.Services.GetRequiredService<IOrganizationLocks>().AcquireAsync(Tokens.OrgA, CancellationToken.None);

        await AssertBusyAndUntouchedAsync(Patch(clientA, """{"metadata":{"plan":"pro"}}"""), fake);
        await ahead.DisposeAsync();

        await AssertOkAsync(Patch(Admin(replicaB, new Tokens(fake)), """{"metadata":{"plan":"pro"}}"""));
        AssertMetadata(fake, new() { ["tier"] = "gold", ["plan"] = "pro" });
    }

    [RedisFact]
    public async Task TwoConcurrentMergesOnTwoReplicasBothLand()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = FakeWithGoldTier();
        var tokens = new Tokens(fake);
        using var replicaA = new ApiFactory(fake, WithRedis(redis));
        using var replicaB = new ApiFactory(fake, WithRedis(redis));
        var clientA = Admin(replicaA, tokens);
        var clientB = Admin(replicaB, tokens);
        var locksB = (RedisOrganizationLocks)replicaB.Services.GetRequiredService<IOrganizationLocks>();
        var (arrived, release) = HoldReads(fake);

        var first = Patch(clientA, """{"metadata":{"plan":"pro"}}""");
        await arrived.WaitAsync(TimeSpan.FromSeconds(20));
        var second = Patch(clientB, """{"metadata":{"seats":"40"}}""");
        await Poll.UntilAsync(() => locksB.Refusals > 0 || fake.OrganizationReadsArrived == 2, "replica B's merge queues or reads");
        release.SetResult();

        await AssertOkAsync(first);
        await AssertOkAsync(second);
        AssertMetadata(fake, new() { ["tier"] = "gold", ["plan"] = "pro", ["seats"] = "40" });
    }

    [RedisFact]
    public async Task AMergeWhoseCallerHangsUpKeepsItsTurnUntilScalekitAnswers()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = FakeWithGoldTier();
        var tokens = new Tokens(fake);
        var settings = WithRedis(redis);
        // Scalekit is slow to apply A's write here; the attempt timeout is not what is tested.
        settings["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:05";
        settings["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:20";
        using var replicaB = new ApiFactory(fake, settings);
        var clientB = Admin(replicaB, tokens);
        using var replicaA = new ApiFactory(fake, settings);
        // Over a real socket, so that hanging up reaches the server as it does in production.
        var address = replicaA.StartOnLoopback();
        var locksB = (RedisOrganizationLocks)replicaB.Services.GetRequiredService<IOrganizationLocks>();
        // Scalekit has A's write but has not applied it yet.
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.HoldNextOrganizationUpdate(arrived, release.Task);
        using var hangUp = new CancellationTokenSource();

        using var clientA = new HttpClient { BaseAddress = address };
        clientA.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(Tokens.OrgA, roles: ["admin"]));

        var first = clientA.PatchAsync($"/organizations/{Tokens.OrgA}",
            new StringContent("""{"metadata":{"plan":"pro"}}""", Encoding.UTF8, "application/json"), hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var second = Patch(clientB, """{"metadata":{"seats":"40"}}""");
        // B queues until its retries are 100 ms apart; then A's caller hangs up.
        await Poll.UntilAsync(() => locksB.Refusals >= 8, "replica B's merge queues behind A's");
        var refusedBeforeHangUp = locksB.Refusals;
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        // Letting go takes A a few continuations after the hang-up; two more refusals, 100 ms apart, show it kept its
        // turn. The bug: A lets go, B reads the map A's write is about to replace, writes, and is answered.
        await Poll.UntilAsync(() => locksB.Refusals >= refusedBeforeHangUp + 2 || second.IsCompleted,
            "replica B's merge is refused again or answered");
        release.SetResult();

        await AssertOkAsync(second);
        await fake.WhenReceived("PATCH", $"/api/v1/organizations/{Tokens.OrgA}", 2);
        AssertMetadata(fake, new() { ["tier"] = "gold", ["plan"] = "pro", ["seats"] = "40" });
    }

    [RedisFact]
    public async Task WithRedisDownAMetadataChangeIs503AndOtherChangesWork()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = FakeWithGoldTier();
        using var replica = new ApiFactory(fake, WithRedis(redis));
        var client = Admin(replica, new Tokens(fake));
        await redis.StopAsync();

        var merge = await Patch(client, """{"metadata":{"plan":"pro"}}""");
        var rename = await Patch(client, """{"displayName":"Acme Renamed"}""");

        await ProblemAssert.IsProblem(merge, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(merge.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);
        Assert.DoesNotContain("metadata", Assert.Single(fake.Requests("PATCH", "/api/v1/organizations")).RequestMessage.Body);
        AssertMetadata(fake, new() { ["tier"] = "gold" });
    }
}
