using Api.Organizations;
using Api.SharedState;
using StackExchange.Redis;

namespace Api.Tests.SharedState;

/// <summary>The lease of the cross-replica organization lock: renewed while held, and only then.</summary>
public sealed class RedisOrganizationLocksTests
{
    // Short, so the tests can watch leases run out; renewals come every third of it.
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    [RedisFact]
    public async Task AHolderKeepsTheLockPastItsLeaseUntilItLetsGo()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var connectionA = new RedisConnection(redis.ConnectionString);
        await using var connectionB = new RedisConnection(redis.ConnectionString);
        var replicaA = new RedisOrganizationLocks(connectionA, Lease);
        var replicaB = new RedisOrganizationLocks(connectionB, Lease);

        var held = await replicaA.AcquireAsync(Tokens.OrgA, CancellationToken.None);

        // Two and a half leases: without renewals, B would be let in once the first one ran out.
        using (var patience = new CancellationTokenSource(Lease * 2.5))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => replicaB.AcquireAsync(Tokens.OrgA, patience.Token).AsTask());
        }

        await held.DisposeAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var next = await replicaB.AcquireAsync(Tokens.OrgA, timeout.Token);
        Assert.True(replicaB.Refusals > 0);
    }

    [RedisFact]
    public async Task ATurnEndingAfterTheConnectionClosedAtShutdownLeavesItsLeaseToRunOut()
    {
        // A patch that ends in the moment between Kestrel dropping it and the host disposing the services it used.
        await using var redis = await RedisServer.StartAsync();
        var connection = new RedisConnection(redis.ConnectionString);
        var replica = new RedisOrganizationLocks(connection, Lease);
        var held = await replica.AcquireAsync(Tokens.OrgA, CancellationToken.None);

        await connection.DisposeAsync();
        await held.DisposeAsync();

        var database = await redis.DatabaseAsync();
        Assert.True(await database.KeyExistsAsync($"orgapi:lock:org:{Tokens.OrgA}"), "the lock was released after all");
        Assert.True(await database.KeyTimeToLiveAsync($"orgapi:lock:org:{Tokens.OrgA}") <= Lease);
    }

    [RedisFact]
    public async Task AClaimThatTimedOutIsNotLeftHoldingTheLockOnceRedisCatchesUp()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var connectionA = new RedisConnection(redis.ConnectionString);
        await using var connectionB = new RedisConnection(redis.ConnectionString);
        // A lease far longer than the test waits: a lock left to run out would fail it.
        var replicaA = new RedisOrganizationLocks(connectionA, TimeSpan.FromSeconds(60));
        var replicaB = new RedisOrganizationLocks(connectionB, TimeSpan.FromSeconds(60));
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true");
        var database = admin.GetDatabase();
        // Redis holds every write past the client's timeout (as a busy or paused server does), then runs it.
        await database.ExecuteAsync("CLIENT", "PAUSE", "30000", "WRITE");

        await Assert.ThrowsAsync<OrganizationLockUnavailableException>(() => replicaA.AcquireAsync(Tokens.OrgA, CancellationToken.None).AsTask());
        await database.ExecuteAsync("CLIENT", "UNPAUSE");

        await Poll.UntilAsync(async () => !await database.KeyExistsAsync($"orgapi:lock:org:{Tokens.OrgA}"),
            "the lock taken by the claim that timed out is released", within: TimeSpan.FromSeconds(10));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var next = await replicaB.AcquireAsync(Tokens.OrgA, timeout.Token);
    }

    [RedisFact]
    public async Task ALockLeftByAReplicaThatDiedRunsOutAfterItsLease()
    {
        await using var redis = await RedisServer.StartAsync();
        // What a replica that died right after taking the lock leaves behind: its key, and nobody renewing it.
        var database = await redis.DatabaseAsync();
        Assert.True(await database.StringSetAsync($"orgapi:lock:org:{Tokens.OrgA}", "a-dead-replica", Lease, When.NotExists));
        await using var connection = new RedisConnection(redis.ConnectionString);
        var replica = new RedisOrganizationLocks(connection, Lease);

        using var timeout = new CancellationTokenSource(Lease * 5);
        await using var held = await replica.AcquireAsync(Tokens.OrgA, timeout.Token);

        Assert.True(replica.Refusals > 0, "the lock was taken without waiting for the dead replica's lease");
        Assert.NotEqual("a-dead-replica", (string?)await database.StringGetAsync($"orgapi:lock:org:{Tokens.OrgA}"));
    }

    [RedisFact]
    public async Task AnAbandonedLockIsKeptPastItsLeaseThenRunsOut()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var connectionA = new RedisConnection(redis.ConnectionString);
        await using var connectionB = new RedisConnection(redis.ConnectionString);
        // Kept for three leases once abandoned: as long as the write it left in flight may still land.
        var replicaA = new RedisOrganizationLocks(connectionA, Lease, abandonedFor: Lease * 3);
        var replicaB = new RedisOrganizationLocks(connectionB, Lease);
        var database = await redis.DatabaseAsync();

        var held = await replicaA.AcquireAsync(Tokens.OrgA, CancellationToken.None);
        await held.AbandonAsync();
        // Disposing an abandoned turn (as `await using` does) releases nothing.
        await held.DisposeAsync();

        Assert.True(await database.KeyTimeToLiveAsync($"orgapi:lock:org:{Tokens.OrgA}") > Lease, "the abandoned lock was not kept past its lease");
        using (var patience = new CancellationTokenSource(Lease * 1.5))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => replicaB.AcquireAsync(Tokens.OrgA, patience.Token).AsTask());
        }

        // Nobody renews it: it runs out on its own.
        using var timeout = new CancellationTokenSource(Lease * 5);
        await using var next = await replicaB.AcquireAsync(Tokens.OrgA, timeout.Token);
    }
}
