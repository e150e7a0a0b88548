using System.Net;
using System.Net.Http.Json;
using Api.Idempotency;
using Api.SharedState;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.SharedState;

public sealed class SharedIdempotencyTests
{
    private static Dictionary<string, string?> WithRedis(RedisServer redis) => new()
    {
        ["ConnectionStrings:Redis"] = redis.ConnectionString,
        ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:05",
        ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:20",
    };

    private static HttpClient Client(ApiFactory replica, string token)
    {
        var client = replica.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    private static HttpRequestMessage Create(string key, string displayName = "Shared Co") => new(HttpMethod.Post, "/organizations")
    {
        Headers = { { "Idempotency-Key", key } },
        Content = JsonContent.Create(new { displayName, externalId = "shared-" + key }),
    };

    [RedisFact]
    public async Task AnIdempotentCreateRetriedOnAnotherReplicaCreatesExactlyOneOrganization()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        using var replicaA = new ApiFactory(fake, WithRedis(redis));
        using var replicaB = new ApiFactory(fake, WithRedis(redis));

        var first = await Client(replicaA, token).SendAsync(Create("key-1"));
        var retry = await Client(replicaB, token).SendAsync(Create("key-1"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Single(fake.Requests("POST", "/api/v1/organizations"));
        Assert.Single(fake.OrganizationsWithExternalId("shared-key-1"));
    }

    [RedisFact]
    public async Task TheRedisNameOfAKeyStaysWhatEarlierVersionsWroteSoAReplicaOfEitherFindsIt()
    {
        // The name hashes the filter's key, itself a hash of method, route, caller and key. Hashing once would do, but
        // renaming would let a retry during a rolling deploy, or within a key's lifetime after one, create again.
        static string Sha256Hex(string text) =>
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"], claims =>
        {
            claims["sub"] = "m2morg_pinned";
            claims["client_id"] = "m2morg_pinned";
        });
        using var replica = new ApiFactory(fake, WithRedis(redis));

        var created = await Client(replica, token).SendAsync(Create("\"pinned-key\""));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var database = await redis.DatabaseAsync();
        var scan = (StackExchange.Redis.RedisResult[])(await database.ExecuteAsync("SCAN", "0", "MATCH", "orgapi:idem:*", "COUNT", "1000"))!;
        var names = ((StackExchange.Redis.RedisResult[])scan[1]!).Select(name => (string?)name);
        var expected = "orgapi:idem:" + Sha256Hex(Sha256Hex("POST /organizations/\nclient:m2morg_pinned\npinned-key"));
        Assert.True(await database.KeyExistsAsync(expected), $"expected {expected}, Redis holds: {string.Join(", ", names)}");
    }

    [RedisFact]
    public async Task AnUnknownOutcomeOnOneReplicaIsReconciledOnAnotherFromTheSharedRecord()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        using var replicaA = new ApiFactory(fake, WithRedis(redis));
        using var replicaB = new ApiFactory(fake, WithRedis(redis));
        await Client(replicaA, token).GetAsync("/health/ready");
        fake.BreakNextConnection("POST", "/api/v1/organizations", afterHandling: true);

        var first = await Client(replicaA, token).SendAsync(Create("key-unknown"));
        var retry = await Client(replicaB, token).SendAsync(Create("key-unknown"));

        // The retry may answer with the organization only because the record kept when the first attempt began.
        Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        Assert.True(HttpStatusCode.Created == retry.StatusCode, await retry.Content.ReadAsStringAsync());
        var id = Assert.Single(fake.OrganizationsWithExternalId("shared-key-unknown"));
        Assert.Equal($"/organizations/{id}", retry.Headers.Location?.OriginalString);
        Assert.Single(fake.Requests("POST", "/api/v1/organizations"));
    }

    [RedisFact]
    public async Task AKeyInFlightOnOneReplicaIs409OnAnother()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        // Scalekit holds the create until the test has seen the second replica's answer: no timing involved.
        using var arrived = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(_ =>
            {
                arrived.Set();
                release.Wait(TimeSpan.FromSeconds(20));
                return ScalekitFake.Raw(201, """{"organization":{"id":"org_slow","display_name":"Shared Co"}}""");
            }));
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        using var replicaA = new ApiFactory(fake, WithRedis(redis));
        using var replicaB = new ApiFactory(fake, WithRedis(redis));
        var clientB = Client(replicaB, token);
        Assert.Equal(HttpStatusCode.OK, (await clientB.GetAsync("/health/live")).StatusCode);

        var slow = Client(replicaA, token).SendAsync(Create("key-2"));
        Assert.True(await Task.Run(() => arrived.Wait(TimeSpan.FromSeconds(20))), "replica A never reached Scalekit");

        var concurrent = await clientB.SendAsync(Create("key-2"));
        release.Set();

        await ProblemAssert.IsProblem(concurrent, HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.Created, (await slow).StatusCode);
        Assert.Single(fake.Requests("POST", "/api/v1/organizations"));
    }

    [RedisFact]
    public async Task WithRedisDownKeyedCreatesAre503WhileOtherCreatesWorkAndBothRecover()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        using var replica = new ApiFactory(fake, WithRedis(redis));
        var client = Client(replica, token);
        Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(Create("before"))).StatusCode);

        await redis.StopAsync();
        var keyed = await client.SendAsync(Create("during"));
        var unkeyed = await client.PostAsJsonAsync("/organizations", new { displayName = "No key" });

        await ProblemAssert.IsProblem(keyed, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(keyed.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Created, unkeyed.StatusCode);
        Assert.Equal(2, fake.Requests("POST", "/api/v1/organizations").Count);

        await redis.StartAgainAsync();
        await Readiness.WaitForAsync(client, "Healthy");
        // One PING through is not the whole multiplexer settled after a server restart: a keyed create in that
        // moment may still get its 503 (with Retry-After, nothing created). What must hold is that keyed creates
        // come back within a bound, and that the retried key creates exactly one organization.
        var after = await RetryWhileUnavailableAsync(() => client.SendAsync(Create("after")));

        Assert.Equal(HttpStatusCode.Created, after.StatusCode);
        Assert.Equal(3, fake.Requests("POST", "/api/v1/organizations").Count);
    }

    [RedisFact]
    public async Task ARedisAtItsMemoryLimitRefusesKeyedCreatesWith503AndCreatesNothing()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        using var replica = new ApiFactory(fake, WithRedis(redis));
        var client = Client(replica, token);
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true");
        var database = admin.GetDatabase();
        // Redis's default policy: at its limit, writes are refused rather than keys evicted.
        await database.ExecuteAsync("CONFIG", "SET", "maxmemory-policy", "noeviction");
        await database.ExecuteAsync("CONFIG", "SET", "maxmemory", "1");

        var keyed = await client.SendAsync(Create("full"));
        var unkeyed = await client.PostAsJsonAsync("/organizations", new { displayName = "No key" });
        await database.ExecuteAsync("CONFIG", "SET", "maxmemory", "0");
        var retry = await client.SendAsync(Create("full"));

        await ProblemAssert.IsProblem(keyed, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(keyed.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Created, unkeyed.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(fake.OrganizationsWithExternalId("shared-full"));
    }

    [RedisFact]
    public async Task ARedisAtItsMemoryLimitStillReplaysAKeyItHolds()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        using var replica = new ApiFactory(fake, WithRedis(redis));
        var client = Client(replica, token);
        var first = await client.SendAsync(Create("replayed-when-full"));
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true");
        var database = admin.GetDatabase();
        await database.ExecuteAsync("CONFIG", "SET", "maxmemory-policy", "noeviction");
        await database.ExecuteAsync("CONFIG", "SET", "maxmemory", "1");

        // The retry of a create that succeeded needs no write: it is replayed; a new key still needs one.
        var replay = await client.SendAsync(Create("replayed-when-full"));
        var fresh = await client.SendAsync(Create("new-when-full"));
        await database.ExecuteAsync("CONFIG", "SET", "maxmemory", "0");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblem(fresh, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(fresh.Headers.RetryAfter);
        Assert.Single(fake.Requests("POST", "/api/v1/organizations"));
    }

    [RedisFact]
    public async Task AClaimThatTimedOutDoesNotHoldTheKeyAgainstTheRetryOnceRedisCatchesUp()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        using var replicaA = new ApiFactory(fake, WithRedis(redis));
        using var replicaB = new ApiFactory(fake, WithRedis(redis));
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true");
        var database = admin.GetDatabase();
        // Redis holds every write past the client's timeout (as a busy or paused server does), then runs it.
        await database.ExecuteAsync("CLIENT", "PAUSE", "30000", "WRITE");

        var first = await Client(replicaA, token).SendAsync(Create("key-slow-redis"));
        await database.ExecuteAsync("CLIENT", "UNPAUSE");
        await Poll.UntilAsync(async () => (await redis.KeysAsync("orgapi:idem:*")).Count == 0,
            "the claim that timed out is removed", within: TimeSpan.FromSeconds(10));
        var retry = await Client(replicaB, token).SendAsync(Create("key-slow-redis"));

        // The 503 said nothing was done and when to retry: the retry creates, neither refused as in flight nor
        // treated as the retry of an attempt whose outcome is unknown.
        await ProblemAssert.IsProblem(first, HttpStatusCode.ServiceUnavailable);
        Assert.True(HttpStatusCode.Created == retry.StatusCode, await retry.Content.ReadAsStringAsync());
        Assert.Empty(fake.Requests("GET", "/api/v1/organizations:external/shared-key-slow-redis"));
        Assert.Single(fake.Requests("POST", "/api/v1/organizations"));
    }

    [RedisFact]
    public async Task ACreateScalekitRefusesIsAnsweredAsSuchWhenRedisStopsAnsweringBeforeItsKeyIsReleased()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true");
        // Redis stops answering writes while Scalekit refuses the create: the key's release times out.
        fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(_ =>
            {
                admin.GetDatabase().Execute("CLIENT", "PAUSE", "30000", "WRITE");
                return ScalekitFake.Raw(400, """{"code":3,"message":"invalid"}""");
            }));
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        using var replica = new ApiFactory(fake, WithRedis(redis));

        var refused = await Client(replica, token).SendAsync(Create("key-refused"));
        await admin.GetDatabase().ExecuteAsync("CLIENT", "UNPAUSE");

        await ProblemAssert.IsProblem(refused, HttpStatusCode.BadRequest);
    }

    [RedisFact]
    public async Task ATakeoverThatTimedOutDoesNotHoldTheKeyAgainstTheNextRetryOnceRedisCatchesUp()
    {
        await using var redis = await RedisServer.StartAsync();
        using var fake = new ScalekitFake();
        var token = new Tokens(fake).Machine(Tokens.OrgA, ["organizations:create"]);
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"{redis.ConnectionString},allowAdmin=true");
        var database = admin.GetDatabase();
        using var replicaA = new ApiFactory(fake, WithRedis(redis));
        // Redis holds every write past the client's timeout (as a busy or paused server does), then runs it: from
        // the moment replica B takes the key over.
        using var replicaB = new ApiFactory(fake, WithRedis(redis), services => services.AddSingleton<IIdempotencyStore>(sp =>
            new PausingBeforeTakeover(ActivatorUtilities.CreateInstance<RedisIdempotencyStore>(sp), database)));
        await Client(replicaA, token).GetAsync("/health/ready");
        fake.BreakNextConnection("POST", "/api/v1/organizations", afterHandling: true);
        Assert.Equal(HttpStatusCode.BadGateway, (await Client(replicaA, token).SendAsync(Create("key-takeover"))).StatusCode);
        var key = Assert.Single(await redis.KeysAsync("orgapi:idem:*"));
        var unknown = (string)(await database.StringGetAsync(key))!;

        var timedOut = await Client(replicaB, token).SendAsync(Create("key-takeover"));
        await database.ExecuteAsync("CLIENT", "UNPAUSE");
        await Poll.UntilAsync(async () => (string?)await database.StringGetAsync(key) == unknown,
            "the record the takeover replaced is back", within: TimeSpan.FromSeconds(10));
        var retry = await Client(replicaB, token).SendAsync(Create("key-takeover"));

        await ProblemAssert.IsProblem(timedOut, HttpStatusCode.ServiceUnavailable);
        Assert.True(HttpStatusCode.Created == retry.StatusCode, await retry.Content.ReadAsStringAsync());
        Assert.Single(fake.OrganizationsWithExternalId("shared-key-takeover"));
        Assert.Single(fake.Requests("POST", "/api/v1/organizations"));
    }

    private static async Task<HttpResponseMessage> RetryWhileUnavailableAsync(Func<Task<HttpResponseMessage>> send)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var response = await send();
        while (response.StatusCode == HttpStatusCode.ServiceUnavailable && !timeout.IsCancellationRequested)
        {
            await Task.Delay(100, timeout.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            response = await send();
        }

        return response;
    }
}

/// <summary>The Redis store, with Redis holding writes from the first takeover on (until the test lets them through).</summary>
internal sealed class PausingBeforeTakeover(IIdempotencyStore inner, StackExchange.Redis.IDatabase admin) : IIdempotencyStore
{
    private int _paused;

    public ValueTask<IdempotencyRecord?> TryAddAsync(string key, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken) =>
        inner.TryAddAsync(key, record, lifetime, cancellationToken);

    public async ValueTask<bool> TryReplaceAsync(string key, string claimId, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        if (record is PendingRequest && Interlocked.Exchange(ref _paused, 1) == 0)
        {
            await admin.ExecuteAsync("CLIENT", "PAUSE", "30000", "WRITE");
        }

        return await inner.TryReplaceAsync(key, claimId, record, lifetime, cancellationToken);
    }

    public ValueTask<bool> TryRemoveAsync(string key, string claimId, CancellationToken cancellationToken) =>
        inner.TryRemoveAsync(key, claimId, cancellationToken);
}
