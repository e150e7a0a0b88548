using System.Net.Http.Json;
using System.Text.Json;
using Scalekit.Emulator;

namespace Api.Tests.Emulator;

public sealed class DiscoveryAndAccessTokenTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private ScalekitEmulator Emulator => fixture.Emulator;

    [Fact]
    public async Task DiscoveryDocumentNamesTheIssuerKeysAndTokenEndpointOfTheEmulator()
    {
        var discovery = await fixture.Http.GetFromJsonAsync<JsonElement>("/.well-known/openid-configuration");

        var baseUrl = Emulator.BaseUrl.ToString().TrimEnd('/');
        Assert.Equal(baseUrl, discovery.GetProperty("issuer").GetString());
        Assert.Equal(baseUrl, Emulator.Issuer);
        Assert.Equal($"{baseUrl}/keys", discovery.GetProperty("jwks_uri").GetString());
        Assert.Equal($"{baseUrl}/oauth/token", discovery.GetProperty("token_endpoint").GetString());
        Assert.StartsWith("http://127.0.0.1:", baseUrl);
    }

    [Fact]
    public async Task KeysEndpointPublishesRsaSigningKeysForRs256()
    {
        var jwks = await fixture.Http.GetFromJsonAsync<JsonElement>("/keys");

        var key = Assert.Single(jwks.GetProperty("keys").EnumerateArray());
        Assert.Equal("RSA", key.GetProperty("kty").GetString());
        Assert.Equal("sig", key.GetProperty("use").GetString());
        Assert.Equal("RS256", key.GetProperty("alg").GetString());
        Assert.StartsWith("snk_", key.GetProperty("kid").GetString());
        Assert.Equal("AQAB", key.GetProperty("e").GetString());
        Assert.True(key.GetProperty("n").GetString()!.Length > 300);
    }

    [Fact]
    public async Task MintedAccessTokenVerifiesWithThePublishedKeyAndCarriesScalekitClaims()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var token = Emulator.MintAccessToken(new AccessTokenRequest
        {
            Subject = "usr_123",
            OrganizationId = SeedData.AcmeOrganizationId,
            Audiences = ["skc_app"],
            Roles = ["admin"],
            Permissions = ["organizations:read", "organizations:create"],
            Lifetime = TimeSpan.FromMinutes(5),
        });

        var jwt = Jwt.Parse(token);
        Assert.True(jwt.VerifiesWith(await fixture.Http.GetFromJsonAsync<JsonElement>("/keys")));
        Assert.Equal("RS256", jwt.Header.GetProperty("alg").GetString());
        Assert.Equal("JWT", jwt.Header.GetProperty("typ").GetString());
        var claims = jwt.Payload;
        Assert.Equal(Emulator.Issuer, claims.GetProperty("iss").GetString());
        Assert.Equal(JsonValueKind.Array, claims.GetProperty("aud").ValueKind);
        Assert.Equal(["skc_app"], jwt.Strings("aud"));
        Assert.Equal("usr_123", claims.GetProperty("sub").GetString());
        Assert.Equal(SeedData.AcmeOrganizationId, claims.GetProperty("oid").GetString());
        Assert.StartsWith("ses_", claims.GetProperty("sid").GetString());
        Assert.False(string.IsNullOrEmpty(claims.GetProperty("jti").GetString()));
        Assert.Equal("skc_app", claims.GetProperty("client_id").GetString());
        Assert.Equal(["admin"], jwt.Strings("roles"));
        Assert.Equal(["organizations:read", "organizations:create"], jwt.Strings("permissions"));
        Assert.False(claims.TryGetProperty("scopes", out _));
        var issuedAt = claims.GetProperty("iat").GetInt64();
        Assert.InRange(issuedAt, before, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal(issuedAt, claims.GetProperty("nbf").GetInt64());
        Assert.Equal(issuedAt + 300, claims.GetProperty("exp").GetInt64());
    }

    [Fact]
    public void TokenWithoutAudiencesIsAddressedToTheEmulatorsClientId()
    {
        var jwt = Jwt.Parse(Emulator.MintAccessToken(new AccessTokenRequest { Subject = "usr_1" }));

        Assert.Equal([EmulatorOptions.DefaultClientId], jwt.Strings("aud"));
        Assert.Equal(EmulatorOptions.DefaultClientId, jwt.Payload.GetProperty("client_id").GetString());
    }

    [Fact]
    public void MachineToMachineTokenHasClientIdEqualToSubjectScopesAndNoSession()
    {
        var jwt = Jwt.Parse(Emulator.MintAccessToken(new AccessTokenRequest
        {
            Subject = "m2morg_42",
            OrganizationId = SeedData.GlobexOrganizationId,
            Audiences = ["skc_api"],
            Scopes = ["organizations:read"],
            Scope = "organizations:read",
        }));

        Assert.Equal("m2morg_42", jwt.Payload.GetProperty("client_id").GetString());
        Assert.Equal(["organizations:read"], jwt.Strings("scopes"));
        Assert.Equal("organizations:read", jwt.Payload.GetProperty("scope").GetString());
        Assert.False(jwt.Payload.TryGetProperty("sid", out _));
        Assert.False(jwt.Payload.TryGetProperty("roles", out _));
        Assert.False(jwt.Payload.TryGetProperty("permissions", out _));
    }

    [Fact]
    public void IssuedAtInThePastMintsAnAlreadyExpiredToken()
    {
        var jwt = Jwt.Parse(Emulator.MintAccessToken(new AccessTokenRequest
        {
            Subject = "usr_1",
            IssuedAt = DateTimeOffset.UtcNow.AddHours(-2),
            Lifetime = TimeSpan.FromHours(1),
        }));

        Assert.True(jwt.Payload.GetProperty("exp").GetInt64() < DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    [Fact]
    public void IssuerOverrideMintsATokenFromAnotherIssuer()
    {
        var jwt = Jwt.Parse(Emulator.MintAccessToken(new AccessTokenRequest { Subject = "usr_1", Issuer = "https://evil.example" }));

        Assert.Equal("https://evil.example", jwt.Payload.GetProperty("iss").GetString());
    }

    [Fact]
    public async Task PersonasCoverMembersAdminsAnotherOrganizationAndMachineCallersWithVerifiableTokens()
    {
        var jwks = await fixture.Http.GetFromJsonAsync<JsonElement>("/keys");

        var personas = Emulator.Personas("skc_app").ToDictionary(p => p.Name, p => Jwt.Parse(p.Token));

        Assert.Equal(["member", "admin", "other-org-member", "m2m", "platform"], personas.Keys);
        Assert.All(personas.Values, jwt => Assert.True(jwt.VerifiesWith(jwks)));
        Assert.All(personas.Values, jwt => Assert.Equal(["skc_app"], jwt.Strings("aud")));
        Assert.All(Emulator.Personas("skc_app"), p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));

        var member = personas["member"];
        Assert.Equal(SeedData.AcmeOrganizationId, member.Payload.GetProperty("oid").GetString());
        Assert.Equal(["organizations:read"], member.Strings("permissions"));

        var admin = personas["admin"];
        Assert.Equal(SeedData.AcmeOrganizationId, admin.Payload.GetProperty("oid").GetString());
        Assert.Equal(["admin"], admin.Strings("roles"));
        Assert.Contains("organizations:create", admin.Strings("permissions"));
        Assert.Contains("organizations:read", admin.Strings("permissions"));

        var other = personas["other-org-member"];
        Assert.Equal(SeedData.GlobexOrganizationId, other.Payload.GetProperty("oid").GetString());
        Assert.Equal(["organizations:read"], other.Strings("permissions"));

        var machine = personas["m2m"];
        Assert.Equal(SeedData.AcmeMachineClientId, machine.Payload.GetProperty("sub").GetString());
        Assert.Equal(SeedData.AcmeMachineClientId, machine.Payload.GetProperty("client_id").GetString());
        Assert.Equal(SeedData.AcmeOrganizationId, machine.Payload.GetProperty("oid").GetString());
        Assert.Equal(["organizations:read", "organizations:create"], machine.Strings("scopes"));
        Assert.Empty(machine.Strings("roles"));
        Assert.Empty(machine.Strings("permissions"));

        var platform = personas["platform"];
        Assert.StartsWith("m2morg_", platform.Payload.GetProperty("sub").GetString());
        Assert.Equal(["organizations:read_all"], platform.Strings("scopes"));
    }

    [Fact]
    public async Task SeedOrganizationsThatPersonasPointAtExist()
    {
        using var client = await fixture.ManagementClientAsync();

        var acme = await client.GetFromJsonAsync<JsonElement>($"/api/v1/organizations/{SeedData.AcmeOrganizationId}");
        var globex = await client.GetFromJsonAsync<JsonElement>($"/api/v1/organizations/{SeedData.GlobexOrganizationId}");

        Assert.Equal("Acme Corp", acme.GetProperty("organization").GetProperty("display_name").GetString());
        Assert.Equal("Globex Corporation", globex.GetProperty("organization").GetProperty("display_name").GetString());
        Assert.Equal("EU", globex.GetProperty("organization").GetProperty("region_code").GetString());
    }
}
