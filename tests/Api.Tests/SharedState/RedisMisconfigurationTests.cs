using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Api.Tests.SharedState;

/// <summary>A Redis that answers but cannot be used as configured is Redis unavailable: never a 500.</summary>
public sealed class RedisMisconfigurationTests
{
    [RedisFact]
    public async Task ADatabaseTheServerLacksDegradesLikeRedisDownInsteadOfFailingEveryRequest()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        // redis-server has 16 databases by default: the client refuses every command for database 99 before sending it.
        using var replica = new ApiFactory(fake, new Dictionary<string, string?> { ["ConnectionStrings:Redis"] = redis.ConnectionString + ",defaultDatabase=99" });
        var client = replica.CreateClient();
        var tokens = new Tokens(fake);

        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.Machine(Tokens.OrgA, ["organizations:create"]));
        var keyed = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/organizations")
        {
            Headers = { { "Idempotency-Key", "key-wrong-db" } },
            Content = JsonContent.Create(new { displayName = "Wrong Db Co", externalId = "wrong-db" }),
        });
        await ProblemAssert.IsProblem(keyed, HttpStatusCode.ServiceUnavailable);

        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Degraded", body.RootElement.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("scalekit").GetProperty("status").GetString());
    }
}
