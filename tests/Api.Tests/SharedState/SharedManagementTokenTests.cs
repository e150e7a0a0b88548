using System.Net;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.SharedState;

public sealed class SharedManagementTokenTests
{
    private static Dictionary<string, string?> WithRedis(RedisServer redis) => new() { ["ConnectionStrings:Redis"] = redis.ConnectionString };

    [RedisFact]
    public async Task TwoReplicasSharingRedisFetchOneManagementTokenBetweenThem()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]);
        using var replicaA = new ApiFactory(fake, WithRedis(redis));
        using var replicaB = new ApiFactory(fake, WithRedis(redis));

        foreach (var replica in new[] { replicaA, replicaB, replicaA, replicaB })
        {
            var client = replica.CreateClient();
            client.DefaultRequestHeaders.Authorization = new("Bearer", token);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        }

        Assert.Equal(1, fake.TokenRequests);
    }

    [RedisFact]
    public async Task AReplicaCoolingDownAfterAFailedFetchUsesTheTokenAnotherReplicaShared()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var down = Guid.NewGuid();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1).WithGuid(down)
            .RespondWith(Response.Create().WithStatusCode(503));
        var settings = WithRedis(redis);
        settings["Scalekit:TokenFetchCooldown"] = "00:01:00";
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]);
        using var replicaA = new ApiFactory(fake, settings);
        using var replicaB = new ApiFactory(fake, WithRedis(redis));
        var clientA = replicaA.CreateClient();
        clientA.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var clientB = replicaB.CreateClient();
        clientB.DefaultRequestHeaders.Authorization = new("Bearer", token);

        await ProblemAssert.IsProblem(await clientA.GetAsync($"/organizations/{Tokens.OrgA}"), HttpStatusCode.ServiceUnavailable);
        fake.Server.DeleteMapping(down);
        Assert.Equal(HttpStatusCode.OK, (await clientB.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        var fetches = fake.TokenRequests;

        Assert.Equal(HttpStatusCode.OK, (await clientA.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.Equal(fetches, fake.TokenRequests);
    }

    [RedisFact]
    public async Task TheSharedTokenIsUnreadableInRedis()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        using var replica = new ApiFactory(fake, WithRedis(redis));
        var client = replica.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        var database = await redis.DatabaseAsync();
        var key = Assert.Single(await redis.KeysAsync("orgapi:mgmt-token:*"));
        var stored = (await database.StringGetAsync(key)).ToString();
        Assert.DoesNotContain(fake.CurrentManagementToken, stored);
        Assert.DoesNotContain(ScalekitFake.ClientId, key);
        Assert.True((await database.KeyTimeToLiveAsync(key)) > TimeSpan.Zero);
    }

    [RedisFact]
    public async Task WhenRedisIsDownReadsStillWorkReadinessReportsDegradedAndRecoveryIsAutomatic()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        using var replica = new ApiFactory(fake, WithRedis(redis));
        var client = replica.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        await redis.StopAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        var degraded = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
        using (var body = JsonDocument.Parse(await degraded.Content.ReadAsStringAsync()))
        {
            Assert.Equal("Degraded", body.RootElement.GetProperty("status").GetString());
            Assert.Equal("Degraded", body.RootElement.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
        }

        await redis.StartAgainAsync();
        await Readiness.WaitForAsync(client, "Healthy");
    }
}
