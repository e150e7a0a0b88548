using System.Net;
using System.Text;
using System.Text.Json;
using Api.SharedState;
using Microsoft.Extensions.Logging.Testing;
using StackExchange.Redis;

namespace Api.Tests.SharedState;

public sealed class SharedCacheInvalidationTests
{
    [RedisFact]
    public async Task AChangeAnnouncedAfterTheConnectionClosedAtShutdownIsLoggedNotThrown()
    {
        // A patch that ends in the moment between Kestrel dropping it and the host disposing the services it used.
        await using var redis = await RedisServer.StartAsync();
        var connection = new RedisConnection(redis.ConnectionString);
        await (await connection.DatabaseAsync()).PingAsync();
        var logs = new FakeLogger<RedisOrganizationChanges>();
        var changes = new RedisOrganizationChanges(connection, logs);

        await connection.DisposeAsync();
        await changes.PublishAsync(Tokens.OrgA, CancellationToken.None);

        Assert.Contains("Could not tell other replicas", logs.LatestRecord.Message);
    }

    [RedisFact]
    public async Task AnUpdateOnOneReplicaInvalidatesTheCachedOrganizationOnAnother()
    {
        await using var redis = await RedisServer.StartAsync();
        using var replicas = await TwoReplicasCachingBeforeAsync(redis);

        Assert.Equal(HttpStatusCode.OK, (await RenameAsync(replicas.ClientA)).StatusCode);

        // The message travels asynchronously; within the ten-minute TTL only the invalidation can refresh B's copy.
        await Poll.UntilAsync(async () => await DisplayNameAsync(replicas.ClientB) == "After", "B answers the new name",
            TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(50));
        Assert.Equal("After", await DisplayNameAsync(replicas.ClientB));
    }

    [RedisFact]
    public async Task AnUpdateOnAReplicaThatCachesNothingInvalidatesTheCachedOrganizationOnAnother()
    {
        await using var redis = await RedisServer.StartAsync();
        // As while a rollout turns the read cache on: A (old settings) caches nothing, B (new settings) does.
        using var replicas = await TwoReplicasCachingBeforeAsync(redis, organizationTtlOnA: "00:00:00");

        Assert.Equal(HttpStatusCode.OK, (await RenameAsync(replicas.ClientA)).StatusCode);

        await Poll.UntilAsync(async () => await DisplayNameAsync(replicas.ClientB) == "After", "B answers the new name",
            TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(50));
        Assert.Equal("After", await DisplayNameAsync(replicas.ClientB));
    }

    [RedisFact]
    public async Task AChangeMadeWhileRedisWasDownIsNotServedStaleOnceRedisIsBack()
    {
        await using var redis = await RedisServer.StartAsync();
        using var replicas = await TwoReplicasCachingBeforeAsync(redis);

        await redis.StopAsync();
        Assert.Equal(HttpStatusCode.OK, (await RenameAsync(replicas.ClientA)).StatusCode);
        // The announcement had nowhere to go: while Redis is away, B's copy is stale (for at most one TTL).
        Assert.Equal("Before", await DisplayNameAsync(replicas.ClientB));

        await redis.StartAgainAsync();

        // Within the ten-minute TTL, only B dropping its copies when its connection comes back can refresh it.
        await Poll.UntilAsync(async () => await DisplayNameAsync(replicas.ClientB) == "After", "B answers the new name",
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50));
        Assert.Equal("After", await DisplayNameAsync(replicas.ClientB));
    }

    private sealed record Replicas(ScalekitFake Fake, ApiFactory A, ApiFactory B, HttpClient ClientA, HttpClient ClientB) : IDisposable
    {
        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
            Fake.Dispose();
        }
    }

    // Two replicas sharing Redis with a ten-minute read cache, both subscribed, and B holding "Before" in its cache.
    private static async Task<Replicas> TwoReplicasCachingBeforeAsync(RedisServer redis, string organizationTtlOnA = "00:10:00")
    {
        var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA, "Before");
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read", "organizations:update"], roles: ["admin"]);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Caching:OrganizationTtl"] = "00:10:00",
            // B is polled until the change shows; the per-caller read budget is not what is tested here.
            ["RateLimiting:Reads:PermitLimit"] = "100000",
        };
        var replicaA = new ApiFactory(fake, new Dictionary<string, string?>(settings) { ["Caching:OrganizationTtl"] = organizationTtlOnA });
        var replicaB = new ApiFactory(fake, settings);
        var replicas = new Replicas(fake, replicaA, replicaB, replicaA.CreateClient(), replicaB.CreateClient());
        replicas.ClientA.DefaultRequestHeaders.Authorization = replicas.ClientB.DefaultRequestHeaders.Authorization = new("Bearer", token);
        Assert.Equal("Before", await DisplayNameAsync(replicas.ClientB));
        await SubscribersAsync(redis, 2);
        return replicas;
    }

    private static Task<HttpResponseMessage> RenameAsync(HttpClient client) =>
        client.PatchAsync($"/organizations/{Tokens.OrgA}", new StringContent("""{"displayName":"After"}""", Encoding.UTF8, "application/json"));

    private static async Task<string> DisplayNameAsync(HttpClient client)
    {
        var body = await client.GetStringAsync($"/organizations/{Tokens.OrgA}");
        return JsonDocument.Parse(body).RootElement.GetProperty("displayName").GetString()!;
    }

    // Each replica subscribes in the background as it starts: publish only once Redis counts both subscriptions.
    private static async Task SubscribersAsync(RedisServer redis, int wanted)
    {
        var database = await redis.DatabaseAsync();
        async Task<long> CountAsync()
        {
            var reply = (RedisResult[])(await database.ExecuteAsync("PUBSUB", "NUMSUB", RedisOrganizationChanges.Channel.ToString()))!;
            return (long)reply[1];
        }

        await Poll.UntilAsync(async () => await CountAsync() >= wanted, $"Redis counts {wanted} subscribers",
            TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(50));
        Assert.Equal(wanted, await CountAsync());
    }
}
