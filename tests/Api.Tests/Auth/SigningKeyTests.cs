using System.Net;
using System.Text.Json;
using Api.Scalekit;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Auth;

public sealed class SigningKeyTests
{
    [Fact]
    public async Task ARotatedKeyIsPickedUpWithoutARestart()
    {
        using var api = await KeysLoadedAsync();
        var (fake, tokens, factory, client) = (api.Fake, api.Tokens, api.Factory, api.Client);

        fake.RotateKey();
        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(permissions: ["organizations:read"]));
        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("kid-2", fake.SigningKey.Kid);
    }

    [Fact]
    public async Task WhenNoSigningKeyCouldEverBeLoadedRequestsGet503WithRetryAfter()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        using var factory = new ApiFactory(fake);
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        Assert.True(response.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(1));
        Assert.Empty(fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task KeysAlreadyLoadedKeepWorkingWhenTheJwksEndpointGoesDown()
    {
        using var api = await KeysLoadedAsync();
        var (fake, tokens, factory, client) = (api.Fake, api.Tokens, api.Factory, api.Client);

        fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503));
        // An unknown kid forces a (failing) refetch; the good keys must survive it.
        var strangerClient = StrangerClient(api);
        Assert.Equal(HttpStatusCode.Unauthorized, (await strangerClient.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(fake.JwksFetches >= 2);
    }

    [Fact]
    public async Task AnEmptyKeySetNeverReplacesGoodKeys()
    {
        using var api = await KeysLoadedAsync();
        var (fake, tokens, factory, client) = (api.Fake, api.Tokens, api.Factory, api.Client);

        fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("{\"keys\":[]}"));
        var strangerClient = StrangerClient(api);
        Assert.Equal(HttpStatusCode.Unauthorized, (await strangerClient.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.True(fake.JwksFetches >= 2, "the unknown kid never made the API fetch the empty key set");
    }

    [Fact]
    public async Task AnRsaKeyUnder2048BitsInTheJwksVerifiesNoToken()
    {
        using var api = await KeysLoadedAsync();
        // RFC 7518 3.3: RS256 keys are 2048 bits or more. A smaller one can be factored, and what it signs forged.
        var weak = new TestKey("kid-weak", bits: 1024);
        api.Fake.Keys.Insert(0, weak);
        var claims = api.Tokens.BaseClaims("usr_x", Tokens.OrgA).With("permissions", new[] { "organizations:read" });
        // The token library refuses to sign with such a key, so the token is put together by hand.
        var token = Tokens.Compose(new { alg = "RS256", kid = weak.Kid, typ = "JWT" }, claims, input => Tokens.SignRs256(weak.Rsa, input));
        var weakClient = api.Factory.CreateClient();
        weakClient.DefaultRequestHeaders.Authorization = new("Bearer", token);

        var response = await weakClient.GetAsync($"/organizations/{Tokens.OrgA}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("unknown_kid", problem.GetProperty("reason").GetString());
        Assert.True(api.Fake.JwksFetches >= 2, "the weak key's kid never made the API fetch the key set that publishes it");
        Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
    }

    // RFC 7517 4.2-4.4: a key published for encryption, for another algorithm or for other operations is no RS256
    // verification key, whatever its kid: before, any RSA key under the token's kid verified it.
    [Theory]
    [InlineData("use", "enc")]
    [InlineData("alg", "RS512")]
    [InlineData("alg", "PS256")]
    [InlineData("key_ops", "encrypt")]
    [InlineData("key_ops", "sign")]
    public async Task AKeyPublishedForAnotherUseVerifiesNoToken(string member, string value)
    {
        using var api = await KeysLoadedAsync();
        var other = new TestKey("kid-other-use");
        PublishAlongside(api.Fake, other.ToJwk(jwk =>
        {
            jwk.Remove("use");
            jwk[member] = member == "key_ops" ? new[] { value } : value;
        }));

        var response = await ClientFor(api, TokenSignedBy(api, other)).GetAsync($"/organizations/{Tokens.OrgA}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("unknown_kid", problem.GetProperty("reason").GetString());
        Assert.True(api.Fake.JwksFetches >= 2, "the key's kid never made the API fetch the key set that publishes it");
        Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
    }

    [Fact]
    public async Task AKeyWhoseKeyOpsIncludeVerifyVerifiesTokensWithoutUseOrAlg()
    {
        using var api = await KeysLoadedAsync();
        var bare = new TestKey("kid-bare");
        PublishAlongside(api.Fake, bare.ToJwk(jwk =>
        {
            jwk.Remove("use");
            jwk.Remove("alg");
            jwk["key_ops"] = new[] { "verify" };
        }));

        var response = await ClientFor(api, TokenSignedBy(api, bare)).GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // The fake's JWKS from now on: its own keys and one more entry, as given.
    private static void PublishAlongside(ScalekitFake fake, Dictionary<string, object> jwk) =>
        fake.Server.Given(Request.Create().WithPath("/keys").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(_ => ScalekitFake.Json(200, new
            {
                keys = fake.Keys.Select(key => key.ToJwk()).Append(jwk).ToArray(),
            })));

    // A reader's token for organization A, signed by the given key under its kid.
    private static string TokenSignedBy(LoadedApi api, TestKey key) =>
        api.Tokens.Sign(api.Tokens.BaseClaims("usr_x", Tokens.OrgA).With("permissions", new[] { "organizations:read" }), key);

    private static HttpClient ClientFor(LoadedApi api, string token)
    {
        var client = api.Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    [Fact]
    public async Task AJwksBodyOver4MiBIsRefusedRatherThanHeldInMemory()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        // The keys are good; only the size is wrong. Scalekit's JWKS is a few KB, like its other answers, which are
        // refused over 4 MiB: read whole, a JWKS of hundreds of MB took the process past a GB.
        var padding = new string(' ', (int)ResponseBufferingHandler.MaxBodyBytes);
        fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(_ => ScalekitFake.Raw(200,
                JsonSerializer.Serialize(new { keys = fake.Keys.Select(k => k.ToJwk()).ToArray() }) + padding)));
        using var factory = new ApiFactory(fake);
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.True(fake.JwksFetches >= 1);
        Assert.Empty(fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task AnUnreadableKeyInTheJwksDoesNotStopTheOtherKeysFromVerifying()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        // A modulus that is not base64url: the token library throws when it sizes such a key.
        fake.Server.Given(Request.Create().WithPath("/keys").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(_ => ScalekitFake.Json(200, new
            {
                keys = new object[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = "kid-broken", n = "!!not base64url**", e = "AQAB" } }
                    .Concat(fake.Keys.Select(key => key.ToJwk())).ToArray(),
            })));
        using var factory = new ApiFactory(fake);
        var client = Reader(factory, fake);

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    // No token with an unknown kid need ever come: the background refresh (Scalekit:JwksAutomaticRefreshInterval) alone
    // makes a key Scalekit retired from its JWKS stop verifying tokens, the cached validations included.
    [Fact]
    public async Task AKeyRetiredFromTheJwksStopsVerifyingOnceTheAutomaticRefreshIntervalHasPassed()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var clock = new ShiftedClock();
        // No refetch cooldown: a background fetch that fails (a JWKS answer slower than its 5 s timeout) is simply tried
        // again by the next request, rather than holding the old keys for 30 s.
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:JwksAutomaticRefreshInterval"] = "01:00:00",
            ["Scalekit:JwksRefreshCooldown"] = "00:00:00",
        }, services => services.AddSingleton<TimeProvider>(clock));
        var client = Reader(factory, fake);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        var fetches = fake.JwksFetches;

        fake.RotateKey();
        fake.Keys.RemoveAt(0);
        clock.Offset = TimeSpan.FromMinutes(59);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.Equal(fetches, fake.JwksFetches);

        clock.Offset = TimeSpan.FromMinutes(61);
        await client.GetAsync($"/organizations/{Tokens.OrgA}");
        await Poll.UntilAsync(() => fake.JwksFetches > fetches, "the keys were refetched once the interval had passed");
        await Poll.UntilAsync(async () => (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode == HttpStatusCode.Unauthorized,
            "the retired key stopped verifying");
    }

    // A host whose keys are loaded (one authenticated 200 done), with a refetch cooldown of zero.
    private static async Task<LoadedApi> KeysLoadedAsync()
    {
        var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var tokens = new Tokens(fake);
        var factory = new ApiFactory(fake, ApiFactory.NoJwksCooldown);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(permissions: ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        return new LoadedApi(fake, tokens, factory, client);
    }

    // A client whose member token, signed with the fake's published key, may read organization A.
    private static HttpClient Reader(ApiFactory factory, ScalekitFake fake)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(permissions: ["organizations:read"]));
        return client;
    }

    // A token signed with a key the JWKS does not publish: it forces a refetch.
    private static HttpClient StrangerClient(LoadedApi api)
    {
        var client = api.Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", api.Tokens.Sign(api.Tokens.BaseClaims("usr_x", Tokens.OrgA), new TestKey("kid-stranger")));
        return client;
    }

    private sealed record LoadedApi(ScalekitFake Fake, Tokens Tokens, ApiFactory Factory, HttpClient Client) : IDisposable
    {
        public void Dispose()
        {
            Factory.Dispose();
            Fake.Dispose();
        }
    }
}
