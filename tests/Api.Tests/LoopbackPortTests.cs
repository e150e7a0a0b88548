using System.Net;
using System.Net.Sockets;

namespace Api.Tests;

/// <summary>
/// The fixtures' servers pick a free port, release it and bind it a moment later; on a CI machine running several test
/// runs another process can take it in between. They start again on a fresh port, and never mistake the taker for their own.
/// </summary>
public sealed class LoopbackPortTests
{
    // The first pick is the taken port, later picks are free ones.
    private static Func<int> TakenFirst(int taken, List<int> picked) => () =>
    {
        var port = picked.Count == 0 ? taken : Loopback.FreePort();
        picked.Add(port);
        return port;
    };

    [Fact]
    public async Task TheFakeStartsOnAFreshPortWhenItsPickedPortWasTakenBeforeItBound()
    {
        using var taker = new TcpListener(IPAddress.Loopback, 0);
        taker.Start();
        var taken = ((IPEndPoint)taker.LocalEndpoint).Port;
        var picked = new List<int>();

        using var fake = new ScalekitFake(TakenFirst(taken, picked));

        Assert.Equal(2, picked.Count);
        Assert.Equal(picked[1], new Uri(fake.Url).Port);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{fake.Url}/keys")).StatusCode);
    }

    [RedisFact]
    public async Task ARedisServerStartsOnAFreshPortWhenAnotherRedisServerTookItsPickedPort()
    {
        await using var other = await RedisServer.StartAsync();
        var picked = new List<int>();

        await using var redis = await RedisServer.StartAsync(TakenFirst(other.Port, picked));

        // Not the other server answering on the port this one could not bind: the test would share its keys.
        Assert.Equal(2, picked.Count);
        Assert.NotEqual(other.Port, redis.Port);
        await (await redis.DatabaseAsync()).StringSetAsync("mine", "yes");
        Assert.Empty(await other.KeysAsync("mine"));
    }
}
