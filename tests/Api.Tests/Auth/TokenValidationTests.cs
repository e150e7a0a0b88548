using System.Buffers.Text;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Api.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Api.Tests.Auth;

public sealed class TokenValidationTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public TokenValidationTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA);
    }

    private string ReadToken(Action<Dictionary<string, object>>? customize = null) =>
        _api.Tokens.User(Tokens.OrgA, ["organizations:read"], customize: customize);

    private Task<HttpResponseMessage> GetOwnOrganization(string? token) =>
        _api.Client(token).GetAsync($"/organizations/{Tokens.OrgA}");

    [Fact]
    public async Task AValidTokenReadsItsOwnOrganization()
    {
        var response = await GetOwnOrganization(ReadToken());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TwoAuthorizationHeadersAre400InvalidRequestWhateverTheTokens()
    {
        var token = ReadToken();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}");
        request.Headers.TryAddWithoutValidation("Authorization", [$"Bearer {token}", $"Bearer {token}"]);

        var response = await _api.Client().SendAsync(request);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.Equal("credentials_repeated", problem.GetProperty("reason").GetString());
        Assert.Contains("error=\"invalid_request\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1/organizations"));
    }

    // RFC 6750 §2.1: "Bearer" 1*SP b64token. Anything else after the scheme is malformed (§3.1 invalid_request),
    // not "no token": the client did send Bearer credentials.
    [Theory]
    [InlineData("Bearer\t{0}")]
    [InlineData("bearer\t{0}")]
    [InlineData("Bearer \t{0}")]
    [InlineData("Bearer {0} {0}")]
    public async Task BearerCredentialsOutOfSyntaxAre400InvalidRequest(string format)
    {
        var context = await GetOwnOrganizationWithRawAuthorization(string.Format(format, ReadToken()));

        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        Assert.Equal("application/problem+json", context.Response.ContentType);
        var problem = await JsonDocument.ParseAsync(context.Response.Body);
        Assert.Equal("credentials_malformed", problem.RootElement.GetProperty("reason").GetString());
        Assert.StartsWith("Bearer error=\"invalid_request\"", context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1/organizations"));
    }

    [Theory]
    [InlineData("bearer {0}")]
    [InlineData("Bearer   {0}")]
    public async Task TheSchemeInAnyCaseAndSeveralSpacesAreWellFormed(string format)
    {
        var context = await GetOwnOrganizationWithRawAuthorization(string.Format(format, ReadToken()));

        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
    }

    [Fact]
    public async Task BearerWithoutATokenIsAMissingToken401LikeNoHeader()
    {
        var context = await GetOwnOrganizationWithRawAuthorization("Bearer");

        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
        Assert.Equal("Bearer", context.Response.Headers.WWWAuthenticate.ToString());
    }

    // Set on the request as is: HttpClient parses an Authorization header and sends it again with one space.
    private Task<HttpContext> GetOwnOrganizationWithRawAuthorization(string authorization) =>
        _api.Factory.Server.SendAsync(http =>
        {
            http.Request.Method = "GET";
            http.Request.Path = $"/organizations/{Tokens.OrgA}";
            http.Request.Headers.Authorization = authorization;
        });

    [Fact]
    public async Task AMissingTokenGets401WithABareBearerChallenge()
    {
        var response = await GetOwnOrganization(null);
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("token_missing", problem.GetProperty("reason").GetString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0")]
    public async Task AMalformedTokenGets401InvalidToken(string token)
    {
        var response = await GetOwnOrganization(token);
        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.StartsWith("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task AnUnsignedAlgNoneTokenIsRejected()
    {
        var claims = _api.Tokens.BaseClaims("usr_1", Tokens.OrgA);
        claims["permissions"] = new[] { "organizations:read" };
        var token = Tokens.Compose(new { alg = "none", typ = "JWT", kid = _api.Fake.SigningKey.Kid }, claims, sign: null);

        var response = await GetOwnOrganization(token);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("bad_algorithm", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task AnHs256TokenSignedWithThePublicKeyIsRejected()
    {
        var claims = _api.Tokens.BaseClaims("usr_1", Tokens.OrgA);
        claims["permissions"] = new[] { "organizations:read" };
        var publicKeyPem = Encoding.ASCII.GetBytes(_api.Fake.SigningKey.Rsa.ExportSubjectPublicKeyInfoPem());
        var token = Tokens.Compose(new { alg = "HS256", typ = "JWT", kid = _api.Fake.SigningKey.Kid }, claims,
            input => HMACSHA256.HashData(publicKeyPem, input));

        var response = await GetOwnOrganization(token);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("bad_algorithm", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task ATokenSignedWithAnotherKeyUnderAKnownKidIsRejected()
    {
        var impostor = new TestKey(_api.Fake.SigningKey.Kid);
        var claims = _api.Tokens.BaseClaims("usr_1", Tokens.OrgA);
        claims["permissions"] = new[] { "organizations:read" };

        var response = await GetOwnOrganization(_api.Tokens.Sign(claims, impostor));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("bad_signature", problem.GetProperty("reason").GetString());
    }

    public static TheoryData<string, object> HeadersWithoutKid => new()
    {
        { "absent", new { alg = "RS256", typ = "JWT" } },
        { "empty", new { alg = "RS256", typ = "JWT", kid = "" } },
        { "null", new Dictionary<string, object?> { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = null } },
    };

    // Tried against every published key, such a token would also stay cached after its key is retired. Its reason
    // says what to fix, not "unknown key", which sends a developer looking at the JWKS and key rotation.
    [Theory]
    [MemberData(nameof(HeadersWithoutKid))]
    public async Task ATokenWithoutKidIsRejectedAsKidMissingEvenWhenAPublishedKeySignedIt(string kid, object header)
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        using var denials = Denials(fixture);
        var token = ReaderTokenSignedByThePublishedKey(fixture, header);

        var response = await fixture.Client(token).GetAsync($"/organizations/{Tokens.OrgA}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        const string description = "The access token's header has no kid naming the key that signed it.";
        Assert.True("kid_missing" == problem.GetProperty("reason").GetString(), $"kid {kid}: {problem}");
        Assert.Equal(description, problem.GetProperty("detail").GetString());
        Assert.Equal($"Bearer error=\"invalid_token\", error_description=\"{description}\"", response.Headers.WwwAuthenticate.ToString());
        var audit = Assert.Single(fixture.Factory.Logs.Events, e => e.Properties.TryGetValue("Decision", out _));
        Assert.Equal("\"kid_missing\"", audit.Properties["Reason"].ToString());
        Assert.Equal("kid_missing", Assert.Single(denials.GetMeasurementSnapshot()).Tags["reason"]);
        Assert.Empty(fixture.Fake.Requests("GET", "/api/v1"));
    }

    // A reader's token under the given header, signed with the key the fake environment publishes (whatever kid it names).
    private static string ReaderTokenSignedByThePublishedKey(ApiFixture fixture, object header)
    {
        var claims = fixture.Tokens.BaseClaims("usr_1", Tokens.OrgA);
        claims["permissions"] = new[] { "organizations:read" };
        return Tokens.Compose(header, claims, input => Tokens.SignRs256(fixture.Fake.SigningKey.Rsa, input));
    }

    private static MetricCollector<long> Denials(ApiFixture fixture) =>
        new(fixture.Factory.Services.GetRequiredService<IMeterFactory>(), ApiMetrics.MeterName, ApiMetrics.AccessDenials);

    [Fact]
    public async Task ATokenWithAKidNoPublishedKeyHasIsStillUnknownKid()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        using var denials = Denials(fixture);
        var token = ReaderTokenSignedByThePublishedKey(fixture, new { alg = "RS256", typ = "JWT", kid = "kid-nobody-has" });

        var response = await fixture.Client(token).GetAsync($"/organizations/{Tokens.OrgA}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        const string description = "The access token was signed with an unknown key.";
        Assert.Equal("unknown_kid", problem.GetProperty("reason").GetString());
        Assert.Equal($"Bearer error=\"invalid_token\", error_description=\"{description}\"", response.Headers.WwwAuthenticate.ToString());
        var audit = Assert.Single(fixture.Factory.Logs.Events, e => e.Properties.TryGetValue("Decision", out _));
        Assert.Equal("\"unknown_kid\"", audit.Properties["Reason"].ToString());
        Assert.Equal("unknown_kid", Assert.Single(denials.GetMeasurementSnapshot()).Tags["reason"]);
    }

    // RFC 8725 3.10: keys come from the environment's JWKS only. A header pointing at a key set (jku, x5u) is never
    // fetched, and a key or certificate carried in the header (jwk, x5c) never verifies the token that carries it.
    [Theory]
    [InlineData("jku")]
    [InlineData("x5u")]
    [InlineData("jwk")]
    [InlineData("x5c")]
    public async Task KeysNamedOrCarriedByTheTokenHeaderAreNeitherFetchedNorTrusted(string parameter)
    {
        var attacker = new TestKey("kid-attacker");
        using var certificate = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            "CN=attacker", attacker.Rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var header = new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = attacker.Kid };
        header[parameter] = parameter switch
        {
            "jku" or "x5u" => $"{_api.Fake.Url}/attacker/{parameter}",
            "jwk" => attacker.ToJwk(),
            _ => new[] { Convert.ToBase64String(certificate.RawData) },
        };
        var claims = _api.Tokens.BaseClaims("usr_1", Tokens.OrgA).With("permissions", new[] { "organizations:read" });

        foreach (var kid in new[] { attacker.Kid, _api.Fake.SigningKey.Kid })
        {
            header["kid"] = kid;
            var token = Tokens.Compose(header, claims, input => Tokens.SignRs256(attacker.Rsa, input));

            var problem = await ProblemAssert.IsProblem(await GetOwnOrganization(token), HttpStatusCode.Unauthorized);

            Assert.Equal(kid == attacker.Kid ? "unknown_kid" : "bad_signature", problem.GetProperty("reason").GetString());
        }

        Assert.Empty(_api.Fake.Requests("GET", "/attacker"));
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    // The kid is looked up in the loaded key set, never put into a URL or a path.
    [Theory]
    [InlineData("../../api/v1/organizations")]
    [InlineData("%2e%2e%2fapi%2fv1")]
    [InlineData("https://attacker.example/keys")]
    [InlineData("kid-1/../../keys?x=")]
    public async Task AKidWithPathOrUrlCharactersIsOnlyAnUnknownKid(string kid)
    {
        var token = ReaderTokenSignedByThePublishedKey(_api, new { alg = "RS256", typ = "JWT", kid });

        var problem = await ProblemAssert.IsProblem(await GetOwnOrganization(token), HttpStatusCode.Unauthorized);

        Assert.Equal("unknown_kid", problem.GetProperty("reason").GetString());
        Assert.All(_api.Fake.Server.LogEntries, entry => Assert.True(
            entry.RequestMessage.Path == "/keys", $"the API asked the environment for {entry.RequestMessage.Path}"));
    }

    [Fact]
    public async Task ATokenWithCriticalHeaderExtensionsIsRejectedEvenWhenSignedByAPublishedKey()
    {
        var claims = _api.Tokens.BaseClaims("usr_1", Tokens.OrgA);
        claims["permissions"] = new[] { "organizations:read" };
        var header = new Dictionary<string, object>
        {
            ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = _api.Fake.SigningKey.Kid, ["crit"] = new[] { "exp_v2" }, ["exp_v2"] = 1,
        };
        var token = Tokens.Compose(header, claims, input => Tokens.SignRs256(_api.Fake.SigningKey.Rsa, input));

        var response = await GetOwnOrganization(token);

        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.StartsWith("Bearer error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    // RFC 7519 4: claim names are unique. The library kept the last of two, so this token read organization A
    // (200) with "oid" naming B first; another reader of the same token would take B.
    public static TheoryData<string, string, string> DuplicatedNames => new()
    {
        { "oid", "", ",\"oid\":\"org_100\"" },
        { "escaped oid", "", ",\"o\\u0069d\":\"org_100\"" },
        { "exp", "", $",\"exp\":{DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 7200}" },
        { "nested", "", ",\"meta\":{\"plan\":\"a\",\"plan\":\"b\"}" },
        { "header kid", ",\"kid\":\"{kid}\"", "" },
        // The header's quick read took the second kid, and a kid the JWKS lacks was answered unknown_kid.
        { "header kid, the second unknown", ",\"kid\":\"snk_not_published\"", "" },
        { "header alg", ",\"alg\":\"RS256\"", "" },
    };

    [Theory]
    [MemberData(nameof(DuplicatedNames))]
    public async Task ATokenNamingAClaimOrHeaderParameterTwiceIsMalformed(string what, string headerExtra, string payloadExtra)
    {
        var kid = _api.Fake.SigningKey.Kid;
        var header = $$"""{"alg":"RS256","typ":"JWT","kid":"{{kid}}"{{headerExtra.Replace("{kid}", kid)}}}""";
        var claims = _api.Tokens.BaseClaims("usr_1", what.Contains("oid") ? Tokens.OrgB : Tokens.OrgA)
            .With("permissions", new[] { "organizations:read" });
        var payload = JsonSerializer.Serialize(claims)[..^1] + payloadExtra + "}";
        var token = Tokens.Compose(header, payload, input => Tokens.SignRs256(_api.Fake.SigningKey.Rsa, input));

        var response = await GetOwnOrganization(token);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.True("malformed" == problem.GetProperty("reason").GetString(), $"{what}: {problem}");
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task ATokenExpiredBeyondTheClockSkewIsRejected()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var response = await GetOwnOrganization(ReadToken(c =>
        {
            c["iat"] = now - 3600;
            c["nbf"] = now - 3600;
            c["exp"] = now - 60;
        }));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("expired", problem.GetProperty("reason").GetString());
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task ATokenExpiredWithinTheClockSkewIsAccepted()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var response = await GetOwnOrganization(ReadToken(c =>
        {
            c["iat"] = now - 3600;
            c["nbf"] = now - 3600;
            c["exp"] = now - 10;
        }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // The library checks exp and nbf only: a token whose iat lay an hour ahead was accepted.
    [Fact]
    public async Task ATokenIssuedInTheFutureBeyondTheClockSkewIsNotYetValid()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("not_yet_valid", problem.GetProperty("reason").GetString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task ATokenIssuedAheadWithinTheClockSkewIsAccepted()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 10));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // RFC 7519 2: NumericDates are JSON numbers. The library read "exp": "<digits>" as a time and accepted the token.
    [Theory]
    [InlineData("exp", 3600)]
    [InlineData("nbf", -60)]
    [InlineData("iat", -60)]
    public async Task ATimeWrittenAsAStringIsMalformed(string claim, int fromNow)
    {
        var response = await GetOwnOrganization(ReadToken(c => c[claim] = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + fromNow).ToString()));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("malformed", problem.GetProperty("reason").GetString());
    }

    // RFC 7519 4.1: "iss", "sub" and "jti" are strings. The library took "sub": 12345 as the subject "12345" (200).
    [Theory]
    [InlineData("iss")]
    [InlineData("sub")]
    [InlineData("jti")]
    public async Task AnIdentifierClaimWrittenAsANumberIsMalformed(string claim)
    {
        var response = await GetOwnOrganization(ReadToken(c => c[claim] = 12345));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("malformed", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task AFractionalExpiryIsAccepted()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["exp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600.5));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ATokenWithoutExpiryIsRejected()
    {
        var response = await GetOwnOrganization(ReadToken(c => c.Remove("exp")));
        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ATokenFromAnotherIssuerIsRejected()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["iss"] = "https://evil.scalekit.dev"));
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("bad_issuer", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task ATokenForAnotherAudienceIsRejected()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["aud"] = new[] { "skc_someone_else" }));
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("bad_audience", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task AnAudienceWithATrailingSlashIsAnotherAudience()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["aud"] = new[] { ScalekitFake.Audience + "/" }));
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("bad_audience", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task AStringAudienceIsAcceptedLikeAnArray()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["aud"] = ScalekitFake.Audience));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AnyConfiguredAudienceIsAccepted()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["aud"] = new[] { "other", "skc_m2m_audience" }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AnUnknownKidIsRejectedAfterOneCooldownLimitedRefetch()
    {
        // Its own host and clock: the class fixture's cooldown window may already be spent by another test.
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var clock = new ShiftedClock();
        using var factory = fixture.Factory.WithWebHostBuilder(host => host
            .ConfigureTestServices(services => services.AddSingleton<TimeProvider>(clock)));
        var stranger = new TestKey("kid-unknown-" + Guid.NewGuid().ToString("N"));
        var claims = fixture.Tokens.BaseClaims("usr_1", Tokens.OrgA);
        claims["permissions"] = new[] { "organizations:read" };
        var token = fixture.Tokens.Sign(claims, stranger);
        Task<HttpResponseMessage> Read(string bearer)
        {
            var client = factory.CreateClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            return client.GetAsync($"/organizations/{Tokens.OrgA}");
        }

        // Keys loaded, then the 30 s cooldown of that first fetch lets the next unknown kid refetch once.
        Assert.Equal(HttpStatusCode.OK, (await Read(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]))).StatusCode);
        clock.Offset = TimeSpan.FromSeconds(31);
        fixture.Fake.ResetRequests();

        for (var i = 0; i < 20; i++)
        {
            var problem = await ProblemAssert.IsProblem(await Read(token), HttpStatusCode.Unauthorized);
            Assert.Equal("unknown_kid", problem.GetProperty("reason").GetString());
        }

        Assert.Equal(1, fixture.Fake.JwksFetches);
    }

    [Fact]
    public async Task AnUnknownKidIsRefusedFromTheHeaderWithoutReadingThePayload()
    {
        // The payload is base64url but not JSON: parsing it would call the token malformed. Refusing on the kid first
        // keeps a flood of such tokens as cheap as its header, whatever it carries.
        var header = Base64Url.EncodeToString("""{"alg":"RS256","typ":"JWT","kid":"kid-nobody-has"}"""u8);
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(new string('x', 2_000)));
        var token = $"{header}.{payload}.{Base64Url.EncodeToString(new byte[256])}";

        var problem = await ProblemAssert.IsProblem(await GetOwnOrganization(token), HttpStatusCode.Unauthorized);

        Assert.Equal("unknown_kid", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task AHeaderWhoseStringsAreNotUtf8IsMalformed()
    {
        // {"alg":"RS256","kid":"\xFF"}: well-formed JSON around a string that is not UTF-8.
        var header = "eyJhbGciOiJSUzI1NiIsImtpZCI6Iv8ifQ";
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(_api.Tokens.BaseClaims("usr_1", Tokens.OrgA)));
        var token = $"{header}.{payload}.{Base64Url.EncodeToString(new byte[256])}";

        var problem = await ProblemAssert.IsProblem(await GetOwnOrganization(token), HttpStatusCode.Unauthorized);

        Assert.Equal("malformed", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task AnIdTokenIsNotAcceptedAsAnAccessToken()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["nonce"] = "n-0S6_WzA2Mj"));
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("id_token", problem.GetProperty("reason").GetString());
    }

    // Scalekit's ID tokens always carry azp and never client_id, which every access token carries: one without its
    // hashes and nonce (every marker checked before) authenticated with the app's audience.
    [Fact]
    public async Task AnIdTokenWithoutNonceOrHashesIsToldApartByAzpWithoutClientId()
    {
        var response = await GetOwnOrganization(ReadToken(c =>
        {
            c.Remove("client_id");
            c["azp"] = ScalekitFake.Audience;
            c["amr"] = new[] { "conn_1" };
            c["email"] = "john.doe@acmecorp.com";
        }));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("id_token", problem.GetProperty("reason").GetString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task AnAccessTokenNamingItsClientInBothAzpAndClientIdIsAccepted()
    {
        var response = await GetOwnOrganization(ReadToken(c => c["azp"] = ScalekitFake.Audience));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // A logout token (OIDC back-channel logout), a security event or a DPoP proof signed by the environment is no
    // access token, whatever claims it carries; before, any typ was accepted.
    [Theory]
    [InlineData("logout+jwt")]
    [InlineData("secevent+jwt")]
    [InlineData("dpop+jwt")]
    [InlineData("id_token+jwt")]
    [InlineData("")]
    public async Task ATypHeaderNamingAnotherKindOfTokenIsRefused(string typ)
    {
        var token = ReaderTokenSignedByThePublishedKey(_api, new { alg = "RS256", typ, kid = _api.Fake.SigningKey.Kid });

        var response = await GetOwnOrganization(token);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("bad_token_type", problem.GetProperty("reason").GetString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    // Scalekit sends "JWT"; RFC 9068 access tokens "at+jwt". RFC 7515 4.1.9: compared without case, "application/" optional.
    [Theory]
    [InlineData("JWT")]
    [InlineData("jwt")]
    [InlineData("at+jwt")]
    [InlineData("AT+JWT")]
    [InlineData("application/at+jwt")]
    [InlineData(null)]
    public async Task AccessTokenTypesAndNoTypAreAccepted(string? typ)
    {
        var header = new Dictionary<string, object> { ["alg"] = "RS256", ["kid"] = _api.Fake.SigningKey.Kid };
        if (typ is not null)
        {
            header["typ"] = typ;
        }

        var response = await GetOwnOrganization(ReaderTokenSignedByThePublishedKey(_api, header));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ATokenInTheQueryStringIsIgnored()
    {
        var response = await _api.Client().GetAsync($"/organizations/{Tokens.OrgA}?access_token={ReadToken()}");
        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task ANonBearerSchemeIsTreatedAsNoToken()
    {
        var client = _api.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("a:b"u8.ToArray()));
        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
    }
}
