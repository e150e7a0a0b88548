using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Api.Idempotency;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Idempotency;

// Unhurried: a test here holds a create at the fake while another request goes through, and no test here is about a
// timeout; on a busy machine the default 2 s attempt ended the held create (504) before it was released.
public sealed class IdempotentCreateTests : IClassFixture<UnhurriedApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _client;

    public IdempotentCreateTests(UnhurriedApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
    }

    public static HttpRequestMessage Create(object body, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/organizations") { Content = JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(IdempotencyKey.HeaderName, key);
        }

        return request;
    }

    private static string NewKey() => $"\"{Guid.NewGuid()}\"";

    // Sent as written: an anonymous object or dictionary might not keep the member order the test is about.
    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private int Creates => _api.Fake.Requests("POST", "/api/v1/organizations").Count;

    [Fact]
    public async Task ARetryWithTheSameKeyAndBodyReplaysTheResponseWithoutCallingScalekit()
    {
        var key = NewKey();
        var body = new { displayName = "Initech", externalId = "crm-replay" };

        var first = await _client.SendAsync(Create(body, key));
        var retry = await _client.SendAsync(Create(body, key));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("application/json", retry.Content.Headers.ContentType?.MediaType);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(1, Creates);
    }

    [Fact]
    public async Task TheSameBodyWrittenDifferentlyIsTheSameRequest()
    {
        var key = NewKey();
        await _client.SendAsync(Create(new { displayName = "Initech", slug = "initech" }, key));

        var reordered = new HttpRequestMessage(HttpMethod.Post, "/organizations")
        {
            Content = new StringContent("""{ "slug": "initech",   "displayName": "Initech", "ignored": 1 }""", System.Text.Encoding.UTF8, "application/json"),
        };
        reordered.Headers.TryAddWithoutValidation(IdempotencyKey.HeaderName, key);
        var retry = await _client.SendAsync(reordered);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(1, Creates);
    }

    [Fact]
    public async Task MetadataWithItsKeysInAnotherOrderIsTheSameRequest()
    {
        var key = NewKey();

        var first = await _client.SendAsync(Create(Json("""{"displayName":"Initech","metadata":{"plan":"pro","tier":"gold"}}"""), key));
        var retry = await _client.SendAsync(Create(Json("""{"displayName":"Initech","metadata":{"tier":"gold","plan":"pro"}}"""), key));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(1, Creates);
    }

    [Fact]
    public async Task MetadataWithAnotherValueUnderTheSameKeyIs422()
    {
        var key = NewKey();
        await _client.SendAsync(Create(Json("""{"displayName":"Initech","metadata":{"plan":"pro","tier":"gold"}}"""), key));

        var response = await _client.SendAsync(Create(Json("""{"displayName":"Initech","metadata":{"tier":"silver","plan":"pro"}}"""), key));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("idempotency_key_reused", problem.GetProperty("reason").GetString());
        Assert.Equal(1, Creates);
    }

    [Fact]
    public async Task TheSameKeyWithADifferentBodyIs422AndCreatesNothing()
    {
        var key = NewKey();
        await _client.SendAsync(Create(new { displayName = "Initech" }, key));

        var response = await _client.SendAsync(Create(new { displayName = "Globex" }, key));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("idempotency_key_reused", problem.GetProperty("reason").GetString());
        Assert.Equal(1, Creates);
    }

    [Fact]
    public async Task AKeyWhoseFirstRequestIsStillRunningIs409ThenTheFinishedResponseIsReplayed()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(async request =>
            {
                arrived.TrySetResult();
                await release.Task;
                return _api.Fake.CreateOrganization(request);
            }));
        var key = NewKey();
        var body = new { displayName = "Slow Corp" };

        var first = _client.SendAsync(Create(body, key));
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var concurrent = await _client.SendAsync(Create(body, key));
        release.SetResult();
        var firstResponse = await first;
        var retry = await _client.SendAsync(Create(body, key));

        var problem = await ProblemAssert.IsProblem(concurrent, HttpStatusCode.Conflict);
        Assert.Equal("idempotency_key_in_flight", problem.GetProperty("reason").GetString());
        Assert.NotNull(concurrent.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Created, firstResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(firstResponse.Headers.Location, retry.Headers.Location);
        Assert.Equal(1, Creates);
    }

    public static TheoryData<string[]> MalformedKeys => new()
    {
        { ["\"\""] },
        { ["\" \""] },
        { ["\"unterminated"] },
        { ["\"a\"b\""] },
        { ["\"bad \\escape\""] },
        { ["two words"] },
        { ["a,b"] },
        { ["\"" + new string('k', 256) + "\""] },
        { [new string('k', 256)] },
        { ["ключ"] },
        { ["one", "two"] },
    };

    [Theory]
    [MemberData(nameof(MalformedKeys))]
    public async Task AMalformedKeyIs400AndScalekitIsNotCalled(string[] keys)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/organizations") { Content = JsonContent.Create(new { displayName = "Initech" }) };
        request.Headers.TryAddWithoutValidation(IdempotencyKey.HeaderName, keys);

        var response = await _client.SendAsync(request);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.Equal("idempotency_key_malformed", problem.GetProperty("reason").GetString());
        Assert.Equal(0, Creates);
    }

    [Theory]
    [InlineData("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"")]
    [InlineData("8e03978e-40d5-43e8-bc93-6894a57f9324")]
    [InlineData("\"with spaces and \\\"escaped\\\" quotes\"")]
    public async Task QuotedAndBareKeysAreAccepted(string key)
    {
        var unique = key.Replace("8e03978e", Guid.NewGuid().ToString("N")[..8], StringComparison.Ordinal);
        var body = new { displayName = "Initech" };

        var first = await _client.SendAsync(Create(body, unique));
        var retry = await _client.SendAsync(Create(body, unique));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task TheLengthLimitCountsTheKeyNotItsQuotesOrEscapes()
    {
        // The draft's key is the structured-field string's value: 255 characters are 257 on the wire when quoted.
        var key = Guid.NewGuid().ToString("N") + new string('k', 223);
        // 255 characters too, two of them escaped (\" and \\): 259 on the wire.
        var escaped = Guid.NewGuid().ToString("N") + new string('e', 221) + "\\\"\\\\";
        var body = new { displayName = "Initech" };

        var quoted = await _client.SendAsync(Create(body, $"\"{key}\""));
        var bare = await _client.SendAsync(Create(body, key));
        var withEscapes = await _client.SendAsync(Create(body, $"\"{escaped}\""));

        Assert.Equal(255, key.Length);
        Assert.Equal(HttpStatusCode.Created, quoted.StatusCode);
        // The same key, quoted or not: the retry is a replay.
        Assert.True(bare.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(quoted.Headers.Location, bare.Headers.Location);
        Assert.Equal(HttpStatusCode.Created, withEscapes.StatusCode);
        Assert.Equal(2, Creates);
    }

    [Fact]
    public async Task KeysBelongToTheirCallerSoAnotherCallerNeverGetsAReplay()
    {
        var key = NewKey();
        var body = new { displayName = "Initech" };
        var machine = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:create"]));

        var mine = await _client.SendAsync(Create(body, key));
        var theirs = await machine.SendAsync(Create(body, key));

        Assert.Equal(HttpStatusCode.Created, theirs.StatusCode);
        Assert.False(theirs.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(mine.Headers.Location, theirs.Headers.Location);
        Assert.Equal(2, Creates);
    }

    [Fact]
    public async Task AUserTokenWithoutSubNamesNoCallerThoughItCarriesTheApplicationsClientId()
    {
        // Every user token of the application carries its client_id: as the caller, it put the keys of all such
        // tokens, whatever their organization, in one scope, and one replayed the other's organization.
        var key = NewKey();
        var body = new { displayName = "Initech" };
        foreach (var organization in new[] { Tokens.OrgA, Tokens.OrgB })
        {
            var token = _api.Tokens.User(organization, ["organizations:create"], customize: c => c.Remove("sub"));

            var response = await _api.Client(token).SendAsync(Create(body, key));

            var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
            Assert.Equal("idempotency_key_unscoped", problem.GetProperty("reason").GetString());
        }

        Assert.Equal(0, Creates);
    }

    [Fact]
    public async Task TheSameCallerWithAFreshTokenStillGetsTheReplay()
    {
        var key = NewKey();
        var body = new { displayName = "Initech" };
        var clientId = "m2morg_" + Guid.NewGuid().ToString("N")[..12];
        void SameClient(Dictionary<string, object> claims)
        {
            claims["sub"] = clientId;
            claims["client_id"] = clientId;
        }

        var machine = _api.Tokens.Machine(Tokens.OrgA, ["organizations:create"], SameClient);
        var renewed = _api.Tokens.Machine(Tokens.OrgA, ["organizations:create"], SameClient);

        var first = await _api.Client(machine).SendAsync(Create(body, key));
        var retry = await _api.Client(renewed).SendAsync(Create(body, key));

        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, Creates);
    }

    [Fact]
    public async Task AnAnswerWithoutEffectFreesTheKeyForTheSameRequest()
    {
        var fault = Guid.NewGuid();
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1).WithGuid(fault)
            .RespondWith(Response.Create().WithStatusCode(400).WithBody("""{"code":3,"message":"invalid"}"""));
        var key = NewKey();
        var body = new { displayName = "Initech" };

        var rejected = await _client.SendAsync(Create(body, key));
        _api.Fake.Server.DeleteMapping(fault);
        var retry = await _client.SendAsync(Create(body, key));

        await ProblemAssert.IsProblem(rejected, HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, Creates);
    }

    [Fact]
    public async Task WithoutAKeyEveryPostCreates()
    {
        await _client.SendAsync(Create(new { displayName = "Initech" }, key: null));
        await _client.SendAsync(Create(new { displayName = "Initech" }, key: null));

        Assert.Equal(2, Creates);
    }

    [Fact]
    public async Task AnInvalidBodyClaimsNoKey()
    {
        var key = NewKey();

        var invalid = await _client.SendAsync(Create(new { displayName = "" }, key));
        var valid = await _client.SendAsync(Create(new { displayName = "Initech" }, key));

        await ProblemAssert.IsProblem(invalid, HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.Created, valid.StatusCode);
    }
}

public sealed class IdempotencyKeyLifetimeTests
{
    [Fact]
    public async Task AKeyIsForgottenAfterTheConfiguredLifetime()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake,
            new Dictionary<string, string?> { ["Idempotency:KeyLifetime"] = "02:00:00" },
            services => services.AddSingleton<IIdempotencyStore>(sp => new InMemoryIdempotencyStore(clock, sp.GetRequiredService<IOptionsMonitor<IdempotencyOptions>>())));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:create"]));
        var key = "\"lifetime-key\"";

        await client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Initech" }, key));
        clock.Advance(TimeSpan.FromHours(1));
        var withinLifetime = await client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Globex" }, key));
        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var afterLifetime = await client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Globex" }, key));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, withinLifetime.StatusCode);
        Assert.Equal(HttpStatusCode.Created, afterLifetime.StatusCode);
        Assert.Equal(2, fake.Requests("POST", "/api/v1/organizations").Count);
    }
}

public sealed class IdempotencyKeyExpiryTests
{
    [Fact]
    public async Task AKeyIsHeldUpToItsLifetimeAndForgottenExactlyAtIt()
    {
        // The same instant Redis's PX ends a record: kept while younger than the lifetime, gone at it.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake,
            new Dictionary<string, string?> { ["Idempotency:KeyLifetime"] = "00:10:00" },
            services => services.AddSingleton<IIdempotencyStore>(sp => new InMemoryIdempotencyStore(clock, sp.GetRequiredService<IOptionsMonitor<IdempotencyOptions>>())));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:create"]));
        var key = "\"expiry-key\"";

        await client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Initech" }, key));
        clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        var justBefore = await client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Initech" }, key));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var atTheLifetime = await client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Initech" }, key));

        Assert.True(justBefore.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.Created, atTheLifetime.StatusCode);
        Assert.False(atTheLifetime.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, fake.Requests("POST", "/api/v1/organizations").Count);
    }
}

public sealed class IdempotencyStoreBoundTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly ScalekitFake _fake = new();
    private readonly ApiFactory _factory;
    private readonly HttpClient _client;

    public IdempotencyStoreBoundTests()
    {
        _factory = new ApiFactory(_fake,
            new Dictionary<string, string?> { ["Idempotency:KeyLifetime"] = "00:10:00", ["Idempotency:MaxEntries"] = "2" },
            services => services.AddSingleton<IIdempotencyStore>(sp =>
                new InMemoryIdempotencyStore(_clock, sp.GetRequiredService<IOptionsMonitor<IdempotencyOptions>>())));
        _client = _factory.CreateClient();
        _client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(_fake).User(Tokens.OrgA, ["organizations:create"]));
    }

    private int Creates => _fake.Requests("POST", "/api/v1/organizations").Count;

    private Task<HttpResponseMessage> CreateAsync(object body, string key) => _client.SendAsync(IdempotentCreateTests.Create(body, key));

    [Fact]
    public async Task AStoreFullOfLiveKeysRefusesANewKeyWith503AndKeepsHonouringTheKeysItHolds()
    {
        var first = await CreateAsync(new { displayName = "Initech" }, "\"bound-1\"");
        await CreateAsync(new { displayName = "Globex" }, "\"bound-2\"");

        var refused = await CreateAsync(new { displayName = "Umbrella" }, "\"bound-3\"");
        var replay = await CreateAsync(new { displayName = "Initech" }, "\"bound-1\"");
        var reused = await CreateAsync(new { displayName = "Other" }, "\"bound-2\"");
        var unkeyed = await _client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Umbrella" }, key: null));

        var problem = await ProblemAssert.IsProblem(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("idempotency_store_full", problem.GetProperty("reason").GetString());
        // Room comes back when the oldest key expires: its whole lifetime from now.
        Assert.Equal(TimeSpan.FromMinutes(10), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(first.Headers.Location, replay.Headers.Location);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        await ProblemAssert.IsProblem(reused, HttpStatusCode.UnprocessableEntity);
        Assert.Equal(HttpStatusCode.Created, unkeyed.StatusCode);
        Assert.Equal(3, Creates);
    }

    [Fact]
    public async Task ExpiredKeysMakeRoomForNewOnes()
    {
        await CreateAsync(new { displayName = "Initech" }, "\"expiring-1\"");
        _clock.Advance(TimeSpan.FromMinutes(9));
        await CreateAsync(new { displayName = "Globex" }, "\"expiring-2\"");

        var whileFull = await CreateAsync(new { displayName = "Umbrella" }, "\"expiring-3\"");
        _clock.Advance(TimeSpan.FromMinutes(1));
        var afterTheOldestExpired = await CreateAsync(new { displayName = "Umbrella" }, "\"expiring-3\"");
        var stillHeld = await CreateAsync(new { displayName = "Globex" }, "\"expiring-2\"");

        await ProblemAssert.IsProblem(whileFull, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromMinutes(1), whileFull.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.Created, afterTheOldestExpired.StatusCode);
        Assert.True(stillHeld.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(3, Creates);
    }

    [Fact]
    public async Task AKeyCountsOneEntryPerStartedKibibyteOfTheResponseItKeeps()
    {
        // Ten metadata values of 200 characters: a response of about 2.5 KB, three entries, more than the store holds.
        var metadata = Enumerable.Range(0, 10).ToDictionary(i => $"key{i}", _ => new string('v', 200));

        var large = await CreateAsync(new { displayName = "Initech", metadata }, "\"large\"");
        var next = await CreateAsync(new { displayName = "Globex" }, "\"after-large\"");
        var replay = await CreateAsync(new { displayName = "Initech", metadata }, "\"large\"");

        Assert.Equal(HttpStatusCode.Created, large.StatusCode);
        Assert.True((await large.Content.ReadAsByteArrayAsync()).Length > 2 * InMemoryIdempotencyStore.BytesPerEntry);
        await ProblemAssert.IsProblem(next, HttpStatusCode.ServiceUnavailable);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, Creates);
    }

    public void Dispose()
    {
        _factory.Dispose();
        _fake.Dispose();
    }
}
