using System.Net;
using System.Security.Claims;
using Api.Auth;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Api.Tests.Auth;

public sealed class ValidatedTokenCacheTests
{
    private static async Task<HttpStatusCode> Read(HttpClient client, string token, string organization = Tokens.OrgA)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{organization}");
        request.Headers.Authorization = new("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task ARepeatedTokenIsValidatedOnceAndThenServedFromTheCache()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client();
        using var lookups = new TokenCacheLookups(fixture.Factory.Services);
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]);

        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));

        Assert.Equal(1, lookups.Misses);
        Assert.Equal(2, lookups.Hits);
    }

    [Fact]
    public async Task DistinctTokensNeverShareAnEntry()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client();
        var member = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]);
        var outsider = fixture.Tokens.User(Tokens.OrgB, ["organizations:read"]);
        var withoutGrant = fixture.Tokens.User(Tokens.OrgA, ["organizations:create"]);

        for (var round = 0; round < 2; round++)
        {
            Assert.Equal(HttpStatusCode.OK, await Read(client, member));
            Assert.Equal(HttpStatusCode.NotFound, await Read(client, outsider));
            Assert.Equal(HttpStatusCode.Forbidden, await Read(client, withoutGrant));
        }
    }

    // The cache is keyed by the whole token string: a copy with one signature byte changed is judged on its own,
    // and so is one whose last character differs only in bits base64url does not use (the library refuses those).
    [Theory]
    [InlineData("a byte in the middle")]
    [InlineData("the unused bits of the last character")]
    public async Task ATokenDifferingFromACachedOneInItsSignatureNeverHitsTheCache(string change)
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client();
        using var lookups = new TokenCacheLookups(fixture.Factory.Services);
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]);
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
        Assert.Equal(1, lookups.Hits);

        var dot = token.LastIndexOf('.');
        var signature = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(token[(dot + 1)..]);
        string altered;
        if (change == "a byte in the middle")
        {
            signature[signature.Length / 2] ^= 0x01;
            altered = token[..(dot + 1)] + Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(signature);
        }
        else
        {
            // 256 bytes are 342 characters whose last one carries 2 bits and 4 unused ones (zero when canonical).
            const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            altered = token[..^1] + alphabet[alphabet.IndexOf(token[^1]) | 0x01];
        }

        Assert.NotEqual(token, altered);
        Assert.Equal(HttpStatusCode.Unauthorized, await Read(client, altered));
        Assert.Equal(1, lookups.Hits);
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
    }

    [Fact]
    public async Task ATokenPastItsExpButInsideTheClockSkewIsAcceptedAndNeverCached()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client();
        using var lookups = new TokenCacheLookups(fixture.Factory.Services);
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"],
            customize: claims =>
            {
                claims["iat"] = claims["nbf"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds();
                claims["exp"] = DateTimeOffset.UtcNow.AddSeconds(-10).ToUnixTimeSeconds();
            });

        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));

        Assert.Equal(0, lookups.Hits);
        Assert.Equal(2, lookups.Misses);
    }

    [Fact]
    public async Task ALargerTokenTakesMoreOfTheBoundSoTheBoundHoldsTheMemory()
    {
        // An entry holds about ten times its token's length (the parsed token and its claims): 3000 tokens of 7 KB,
        // each with 200 permissions, held 283 MB. A bound of two entries leaves no room for a 3 KB token.
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        using var factory = fixture.Factory.WithWebHostBuilder(host => host.UseSetting("Caching:ValidatedTokenMaxEntries", "2"));
        var client = factory.CreateClient();
        using var lookups = new TokenCacheLookups(factory.Services);
        string[] manyPermissions = ["organizations:read", .. Enumerable.Range(0, 60).Select(i => $"app:feature_{i:D4}:read")];
        var large = fixture.Tokens.User(Tokens.OrgA, manyPermissions);
        var small = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]);
        Assert.InRange(large.Length, 2 * 1024 + 1, 3 * 1024);
        Assert.True(small.Length <= 1024, $"the small token has {small.Length} characters");

        Assert.Equal(HttpStatusCode.OK, await Read(client, large));
        Assert.Equal(HttpStatusCode.OK, await Read(client, large));
        Assert.Equal(0, lookups.Hits);

        Assert.Equal(HttpStatusCode.OK, await Read(client, small));
        Assert.Equal(HttpStatusCode.OK, await Read(client, small));
        Assert.Equal(1, lookups.Hits);
    }

    [Theory]
    [InlineData(61, "00:05:00")]   // past the token's exp, still inside the TTL
    [InlineData(31, "00:00:30")]   // past the TTL, still before exp
    public async Task AnEntryIsNotServedPastTheEarlierOfTheTokensExpAndTheTtl(int secondsLater, string ttl)
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var clock = new ShiftedClock();
        using var factory = fixture.Factory.WithWebHostBuilder(host => host
            .UseSetting("Caching:ValidatedTokenTtl", ttl)
            .ConfigureTestServices(services => services.AddSingleton<TimeProvider>(clock)));
        var client = factory.CreateClient();
        using var lookups = new TokenCacheLookups(factory.Services);
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"],
            customize: claims => claims["exp"] = DateTimeOffset.UtcNow.AddSeconds(60).ToUnixTimeSeconds());
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
        Assert.Equal(1, lookups.Hits);

        clock.Offset = TimeSpan.FromSeconds(secondsLater);
        await Read(client, token);

        Assert.Equal(1, lookups.Hits);
        Assert.Equal(2, lookups.Misses);
    }

    [Fact]
    public async Task ARejectionIsNotCachedATokenWithAnUnknownKidIsAcceptedOnceTheKeyIsPublished()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var tokens = new Tokens(fake);
        using var factory = new ApiFactory(fake, ApiFactory.NoJwksCooldown);
        var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, await Read(client, tokens.User(Tokens.OrgA, ["organizations:read"])));
        var upcoming = new TestKey("kid-upcoming");
        var token = tokens.Sign(tokens.BaseClaims("usr_1", Tokens.OrgA).With("permissions", new[] { "organizations:read" }), upcoming);

        Assert.Equal(HttpStatusCode.Unauthorized, await Read(client, token));
        fake.Keys.Add(upcoming);

        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
    }

    [Fact]
    public async Task ACachedTokenStopsWorkingOnceItsSigningKeyIsRetiredFromTheJwks()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var tokens = new Tokens(fake);
        using var factory = new ApiFactory(fake, ApiFactory.NoJwksCooldown);
        var client = factory.CreateClient();
        var old = tokens.User(Tokens.OrgA, ["organizations:read"]);
        Assert.Equal(HttpStatusCode.OK, await Read(client, old));
        Assert.Equal(HttpStatusCode.OK, await Read(client, old));

        // Rotate and retire kid-1; the first token with the new kid makes the API refetch the JWKS.
        fake.RotateKey();
        fake.Keys.RemoveAt(0);
        Assert.Equal(HttpStatusCode.OK, await Read(client, tokens.User(Tokens.OrgA, ["organizations:read"])));

        Assert.Equal(HttpStatusCode.Unauthorized, await Read(client, old));
    }

    [Fact]
    public async Task EveryValidationHandsOutItsOwnIdentity()
    {
        using var fixture = new ApiFixture();
        var handler = fixture.Factory.Services.GetRequiredService<ScalekitAccessTokenHandler>();
        var parameters = fixture.Factory.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>()
            .Get(JwtBearerDefaults.AuthenticationScheme).TokenValidationParameters;
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]);

        var first = await handler.ValidateTokenAsync(token, parameters);
        first.ClaimsIdentity.AddClaim(new Claim(ScalekitClaims.Permissions, "organizations:read_all"));
        var second = await handler.ValidateTokenAsync(token, parameters);
        second.ClaimsIdentity.AddClaim(new Claim(ScalekitClaims.Roles, "admin"));
        var third = await handler.ValidateTokenAsync(token, parameters);

        Assert.True(first.IsValid && second.IsValid && third.IsValid);
        Assert.NotSame(second.ClaimsIdentity, third.ClaimsIdentity);
        Assert.False(third.ClaimsIdentity.HasClaim(ScalekitClaims.Permissions, "organizations:read_all"));
        Assert.False(third.ClaimsIdentity.HasClaim(ScalekitClaims.Roles, "admin"));
        Assert.True(third.ClaimsIdentity.HasClaim(ScalekitClaims.Permissions, "organizations:read"));
    }

    [Fact]
    public async Task WithTheTtlAtZeroTheCacheIsNeverConsulted()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        using var factory = fixture.Factory.WithWebHostBuilder(host => host.UseSetting("Caching:ValidatedTokenTtl", "00:00:00"));
        var client = factory.CreateClient();
        using var lookups = new TokenCacheLookups(factory.Services);
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]);

        Assert.Equal(HttpStatusCode.OK, await Read(client, token));
        Assert.Equal(HttpStatusCode.OK, await Read(client, token));

        Assert.Equal(0, lookups.Hits + lookups.Misses);
    }
}

/// <summary>The validated-token cache at its bound, under many distinct callers at once.</summary>
public sealed class ValidatedTokenCacheEvictionTests
{
    [Fact]
    public async Task ManyDistinctTokensAtOnceAgainstAFullCacheEachActAsTheirOwnCaller()
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Caching:ValidatedTokenMaxEntries"] = "4" });
        var tokens = new Tokens(fake);
        var callers = Enumerable.Range(0, 48).Select(i => $"org_evict{i:D3}").ToList();
        callers.ForEach(id => fake.AddOrganization(id, displayName: $"Name of {id}"));
        var minted = callers.Select(id => (Organization: id, Token: tokens.User(id, ["organizations:read"]))).ToList();
        var client = factory.CreateClient();
        using var lookups = new TokenCacheLookups(factory.Services);

        // Three rounds, all callers at once each: entries are added, refused at the bound and compacted away while
        // other callers look theirs up.
        for (var round = 0; round < 3; round++)
        {
            var answers = await Task.WhenAll(minted.Select(async caller =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/organizations/current");
                request.Headers.Authorization = new("Bearer", caller.Token);
                using var response = await client.SendAsync(request);
                return (caller.Organization, response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            }));

            Assert.All(answers, answer =>
            {
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                using var body = System.Text.Json.JsonDocument.Parse(answer.Body);
                Assert.Equal(answer.Organization, body.RootElement.GetProperty("id").GetString());
                Assert.Equal($"Name of {answer.Organization}", body.RootElement.GetProperty("displayName").GetString());
            });
        }

        // The bound was reached: callers kept missing the cache, and were still each answered as themselves.
        Assert.True(lookups.Misses > minted.Count, $"{lookups.Misses} misses");
    }
}
