using System.Net;
using Api.Auth;
using Microsoft.IdentityModel.Tokens;

namespace Api.Tests.Auth;

public sealed class RejectedTokenCacheTests
{
    private static async Task<(HttpStatusCode Status, string? Challenge)> Read(HttpClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}");
        request.Headers.Authorization = new("Bearer", token);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, response.Headers.WwwAuthenticate.SingleOrDefault()?.ToString());
    }

    [Fact]
    public async Task AnExpiredTokenSentAgainIsRejectedFromTheCacheWithTheSameAnswer()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client();
        using var lookups = new TokenCacheLookups(fixture.Factory.Services);
        var expired = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"], customize: Tokens.Expired);

        var first = await Read(client, expired);
        var second = await Read(client, expired);
        var third = await Read(client, expired);

        Assert.Equal(HttpStatusCode.Unauthorized, first.Status);
        Assert.Contains("expired", first.Challenge);
        Assert.Equal(first, second);
        Assert.Equal(first, third);
        Assert.Equal(2, lookups.Rejections);
        Assert.Equal(0, lookups.Hits);
    }

    [Fact]
    public async Task ARejectedTokenNeverShadowsAValidOne()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = fixture.Client();
        using var lookups = new TokenCacheLookups(fixture.Factory.Services);
        var valid = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]);
        var parts = valid.Split('.');
        var tampered = $"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(new byte[256])}";

        Assert.Equal(HttpStatusCode.Unauthorized, (await Read(client, tampered)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Read(client, tampered)).Status);
        Assert.Equal(1, lookups.Rejections);

        Assert.Equal(HttpStatusCode.OK, (await Read(client, valid)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Read(client, tampered)).Status);
    }

    [Fact]
    public async Task ASignatureRejectionEndsWithTheKeySetThatJudgedIt()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var tokens = new Tokens(fake);
        using var factory = new ApiFactory(fake, ApiFactory.NoJwksCooldown);
        var client = factory.CreateClient();
        using var lookups = new TokenCacheLookups(factory.Services);

        // Signed by a key that claims the published kid but is not the published key: a bad signature today.
        var replacement = new TestKey(fake.SigningKey.Kid);
        var token = tokens.Sign(tokens.BaseClaims("usr_1", Tokens.OrgA).With("permissions", new[] { "organizations:read" }), replacement);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Read(client, token)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Read(client, token)).Status);
        Assert.Equal(1, lookups.Rejections);

        // The environment now publishes that key under that kid; a token with a new kid makes the API refetch.
        fake.Keys[^1] = replacement;
        var newcomer = fake.RotateKey();
        Assert.Equal(HttpStatusCode.OK, (await Read(client, tokens.Sign(
            tokens.BaseClaims("usr_2", Tokens.OrgA).With("permissions", new[] { "organizations:read" }), newcomer))).Status);

        Assert.Equal(HttpStatusCode.OK, (await Read(client, token)).Status);
        Assert.Equal(1, lookups.Rejections);
    }

    [Fact]
    public async Task ATokenThatIsNotYetValidIsJudgedAfreshEachTime()
    {
        using var fixture = new ApiFixture();
        var client = fixture.Client();
        using var lookups = new TokenCacheLookups(fixture.Factory.Services);
        var early = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"], customize: claims =>
            claims["nbf"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds());

        Assert.Equal(HttpStatusCode.Unauthorized, (await Read(client, early)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Read(client, early)).Status);

        Assert.Equal(0, lookups.Rejections);
    }

    public static TheoryData<Exception, bool> Failures => new()
    {
        { new SecurityTokenExpiredException(), true },
        { new SecurityTokenInvalidSignatureException(), true },
        { new SecurityTokenInvalidIssuerException(), true },
        { new SecurityTokenInvalidAudienceException(), true },
        { new SecurityTokenNoExpirationException(), true },
        { new SecurityTokenSignatureKeyNotFoundException(), false },
        { new SecurityTokenNotYetValidException(), false },
        { new SigningKeysUnavailableException(TimeSpan.FromSeconds(1)), false },
        { new SecurityTokenMalformedException(), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void OnlyFailuresNoLaterMomentCanUndoAreKept(Exception failure, bool final) =>
        Assert.Equal(final, RejectedTokenCache.IsFinal(failure));
}
