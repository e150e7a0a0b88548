using System.Net;
using System.Text;
using System.Text.Json;
using Api.SharedState;
using StackExchange.Redis;

namespace Api.Tests.SharedState;

public sealed class SharedCacheInvalidationTests
{
    [RedisFact]
    public async Task AnUpdateOnOneReplicaInvalidatesTheCachedOrganizationOnAnother()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA, "Before");
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read", "organizations:update"], roles: ["admin"]);
        var settings = new Dictionary<string, string?> { ["ConnectionStrings:Redis"] = redis.ConnectionString, ["Caching:OrganizationTtl"] = "00:10:00" };
        using var replicaA = new ApiFactory(fake, settings);
        using var replicaB = new ApiFactory(fake, settings);
        var clientA = replicaA.CreateClient();
        var clientB = replicaB.CreateClient();
        clientA.DefaultRequestHeaders.Authorization = clientB.DefaultRequestHeaders.Authorization = new("Bearer", token);
        Assert.Equal("Before", await DisplayNameAsync(clientB));
        await SubscribersAsync(redis, 2);

        var patched = await clientA.PatchAsync($"/organizations/{Tokens.OrgA}", new StringContent("""{"displayName":"After"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);

        // The message travels asynchronously; within the ten-minute TTL only the invalidation can refresh B's copy.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        string name;
        do
        {
            name = await DisplayNameAsync(clientB);
        }
        while (name != "After" && !timeout.IsCancellationRequested && await Pause(timeout.Token));

        Assert.Equal("After", name);
    }

    [RedisFact]
    public async Task AChangeMadeWhileRedisWasDownIsNotServedStaleOnceRedisIsBack()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA, "Before");
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read", "organizations:update"], roles: ["admin"]);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Caching:OrganizationTtl"] = "00:10:00",
            // B is polled until the reconnect shows; the per-caller read budget is not what is tested here.
            ["RateLimiting:Reads:PermitLimit"] = "100000",
        };
        using var replicaA = new ApiFactory(fake, settings);
        using var replicaB = new ApiFactory(fake, settings);
        var clientA = replicaA.CreateClient();
        var clientB = replicaB.CreateClient();
        clientA.DefaultRequestHeaders.Authorization = clientB.DefaultRequestHeaders.Authorization = new("Bearer", token);
        Assert.Equal("Before", await DisplayNameAsync(clientB));
        await SubscribersAsync(redis, 2);

        await redis.StopAsync();
        var patched = await clientA.PatchAsync($"/organizations/{Tokens.OrgA}", new StringContent("""{"displayName":"After"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        // The announcement had nowhere to go: while Redis is away, B's copy is stale (for at most one TTL).
        Assert.Equal("Before", await DisplayNameAsync(clientB));

        await redis.StartAgainAsync();

        // Within the ten-minute TTL, only B dropping its copies when its connection comes back can refresh it.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string name;
        do
        {
            name = await DisplayNameAsync(clientB);
        }
        while (name != "After" && !timeout.IsCancellationRequested && await Pause(timeout.Token));

        Assert.Equal("After", name);
    }

    private static async Task<string> DisplayNameAsync(HttpClient client)
    {
        var body = await client.GetStringAsync($"/organizations/{Tokens.OrgA}");
        return JsonDocument.Parse(body).RootElement.GetProperty("displayName").GetString()!;
    }

    // Each replica subscribes in the background as it starts: publish only once Redis counts both subscriptions.
    private static async Task SubscribersAsync(RedisServer redis, int wanted)
    {
        var database = await redis.DatabaseAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        long subscribers;
        do
        {
            var reply = (RedisResult[])(await database.ExecuteAsync("PUBSUB", "NUMSUB", RedisOrganizationChanges.Channel.ToString()))!;
            subscribers = (long)reply[1];
        }
        while (subscribers < wanted && !timeout.IsCancellationRequested && await Pause(timeout.Token));

        Assert.Equal(wanted, subscribers);
    }

    private static async Task<bool> Pause(CancellationToken cancellationToken)
    {
        await Task.Delay(50, cancellationToken);
        return true;
    }
}
