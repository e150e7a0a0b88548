using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Api.Auth;

/// <summary>
/// Validates Scalekit access tokens. Before the standard checks it rejects what must never reach an RSA verify
/// (unreadable tokens, algorithms other than RS256, ID tokens) and makes sure the token's <c>kid</c> is loaded,
/// refetching the JWKS (under its cooldown) so a key rotation is picked up in the same request. A token seen
/// before and still good is answered from <see cref="ValidatedTokenCache"/> without any of that, and one seen before
/// and rejected for good from <see cref="RejectedTokenCache"/>.
/// </summary>
public sealed class ScalekitAccessTokenHandler : JsonWebTokenHandler
{
    // Claims only an OpenID Connect ID token carries; an ID token is not an access token.
    private static readonly string[] IdTokenMarkers = ["nonce", "at_hash", "c_hash"];

    // The "typ" values of an access token: Scalekit's "JWT" and RFC 9068's "at+jwt", compared without case and with or
    // without "application/" (RFC 7515 4.1.9). Any other names another kind of token (a logout token's "logout+jwt",
    // a security event's "secevent+jwt", a DPoP proof's "dpop+jwt"), however its claims look.
    private static readonly string[] AccessTokenTypes = ["JWT", "at+jwt", "application/jwt", "application/at+jwt"];

    // RFC 7519 2 and 4.1: the times of a token are NumericDates, JSON numbers (fractions allowed); its issuer, subject
    // and id are strings. Read in one pass of the payload: the dates first, then the strings.
    private static readonly string[] TypedClaims =
    [
        JwtRegisteredClaimNames.Exp, JwtRegisteredClaimNames.Nbf, JwtRegisteredClaimNames.Iat,
        JwtRegisteredClaimNames.Iss, JwtRegisteredClaimNames.Sub, JwtRegisteredClaimNames.Jti,
    ];

    private const int NumericDateCount = 3;

    private readonly SigningKeyStore _keys;
    private readonly ValidatedTokenCache _cache;
    private readonly RejectedTokenCache _rejected;
    private readonly TimeProvider _time;
    private readonly IHttpContextAccessor _http;

    public ScalekitAccessTokenHandler(SigningKeyStore keys, ValidatedTokenCache cache, RejectedTokenCache rejected, TimeProvider time,
        IHttpContextAccessor http)
    {
        _keys = keys;
        _cache = cache;
        _rejected = rejected;
        _time = time;
        _http = http;
        MapInboundClaims = false;
    }

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        // The bearer handler passes no cancellation: a caller who hangs up while its token waits on a JWKS fetch shared
        // with others stops waiting (BearerChallengeWriter records it as 499), and the fetch goes on for them.
        var callerLeft = _http.HttpContext?.RequestAborted ?? CancellationToken.None;
        TokenKey? cacheKey = null;
        if (_cache.Enabled)
        {
            cacheKey = TokenKey.Of(token);
            if (_cache.TryGet(cacheKey.Value, _keys.Current, out var remembered))
            {
                // Also starts the periodic background key refresh, which must not depend on cache misses.
                await _keys.GetKeysAsync(callerLeft);
                return remembered;
            }

            if (_rejected.TryGet(cacheKey.Value, _keys.Current, out var rejection))
            {
                await _keys.GetKeysAsync(callerLeft);
                return rejection;
            }
        }

        if (!CanReadToken(token))
        {
            return Invalid(new SecurityTokenMalformedException("The token is not a JWS compact serialization."));
        }

        // A kid the environment does not have, even after the refresh the cooldown allows, is refused from the header
        // alone: what a flood of such tokens costs does not grow with the payload they carry. The key set found here
        // serves the rest of the validation; a header this quick read cannot take is left to the full parse.
        SigningKeyStore.KeySet? keys = null;
        if (HeaderOf(token) is (SecurityAlgorithms.RsaSha256, { Length: > 0 } headerKid))
        {
            var lookup = await KeysOrRefusalAsync(headerKid, callerLeft);
            if (lookup.Refused)
            {
                return lookup.Refusal;
            }

            keys = lookup.Keys;
        }

        JsonWebToken jwt;
        try
        {
            jwt = ReadJsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            return Invalid(new SecurityTokenMalformedException("The token could not be parsed."));
        }

        // RFC 7519 4 and RFC 7515 4: names are unique. The library keeps the last of two, so a token naming "oid" twice
        // acted for whichever came last, and what another reader of the same token takes first.
        if (!TokenSegment.HasUniqueNames(jwt.EncodedHeader) || !TokenSegment.HasUniqueNames(jwt.EncodedPayload))
        {
            return Invalid(new SecurityTokenMalformedException("The token names a header parameter or claim twice."));
        }

        if (jwt.Alg != SecurityAlgorithms.RsaSha256)
        {
            return Invalid(new SecurityTokenInvalidAlgorithmException("Only RS256 tokens are accepted."));
        }

        // RFC 7515 4.1.11: a JWS whose "crit" lists extensions the recipient does not understand is invalid, and this
        // API understands none.
        if (jwt.TryGetHeaderValue<object>("crit", out _))
        {
            return Invalid(new SecurityTokenValidationException("The token names critical header extensions, none of which are supported."));
        }

        // Scalekit names the signing key of every token. One without a kid would be tried against every published
        // key, and its cached validation would outlive the retirement of the key that signed it.
        if (string.IsNullOrEmpty(jwt.Kid))
        {
            return Invalid(new KidMissingException());
        }

        // The token library also reads a string of digits ("exp": "1767225600") as a time, which no issuer sends, and
        // a number as a subject ("sub": 12345), which the audit and the idempotency scope would then take as "12345".
        if (!HasTypedClaims(jwt))
        {
            return Invalid(new SecurityTokenMalformedException("The token's exp, nbf and iat must be JSON numbers, and its iss, sub and jti strings."));
        }

        if (jwt.TryGetHeaderValue<string>(JwtHeaderParameterNames.Typ, out var type)
            && !AccessTokenTypes.Contains(type, StringComparer.OrdinalIgnoreCase))
        {
            return Invalid(new TokenTypeRejectedException());
        }

        if (IsIdToken(jwt))
        {
            return Invalid(new IdTokenRejectedException());
        }

        if (keys is null)
        {
            var lookup = await KeysOrRefusalAsync(jwt.Kid, callerLeft);
            if (lookup.Refused)
            {
                return lookup.Refusal;
            }

            keys = lookup.Keys;
        }

        var result = await base.ValidateTokenAsync(jwt, validationParameters);
        if (result.IsValid && IssuedInTheFuture(jwt, validationParameters.ClockSkew))
        {
            // Not remembered as a rejection (not final): the token is good once its iat has come.
            result = Invalid(new IssuedInTheFutureException());
        }

        if (result.IsValid)
        {
            SplitScopeString(result.ClaimsIdentity);
        }

        if (cacheKey is { } key)
        {
            if (result.IsValid)
            {
                _cache.Remember(key, jwt, result.ClaimsIdentity);
            }
            else
            {
                _rejected.Remember(key, keys, result.Exception);
            }
        }

        return result;
    }

    private static bool HasTypedClaims(JsonWebToken jwt)
    {
        Span<JsonTokenType> kinds = stackalloc JsonTokenType[TypedClaims.Length];
        if (!TokenSegment.TryReadKinds(jwt.EncodedPayload, TypedClaims, kinds))
        {
            return false;
        }

        for (var i = 0; i < kinds.Length; i++)
        {
            var expected = i < NumericDateCount ? JsonTokenType.Number : JsonTokenType.String;
            if (kinds[i] != JsonTokenType.None && kinds[i] != expected)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Issued later than now, beyond the clock skew: the library checks <c>exp</c> and <c>nbf</c> only, and a token
    /// from the future says the issuer's clock, or the token, is wrong (RFC 7519 4.1.6).
    /// </summary>
    private bool IssuedInTheFuture(JsonWebToken jwt, TimeSpan clockSkew) =>
        jwt.TryGetClaim(JwtRegisteredClaimNames.Iat, out _)
        && new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero) > _time.GetUtcNow() + clockSkew;

    /// <summary>
    /// An OpenID Connect ID token: one carrying a claim only ID tokens carry, or naming its client the ID token's way
    /// (<c>azp</c>) and not the access token's (<c>client_id</c>, which every Scalekit access token carries, RFC 9068
    /// 2.2). Scalekit's ID tokens carry <c>azp</c> and never <c>client_id</c>, so one stripped of its hashes is still
    /// told apart.
    /// </summary>
    private static bool IsIdToken(JsonWebToken jwt) =>
        IdTokenMarkers.Any(marker => jwt.TryGetClaim(marker, out _))
        || (jwt.TryGetClaim(JwtRegisteredClaimNames.Azp, out _) && !jwt.TryGetClaim(ScalekitClaims.ClientId, out _));

    /// <summary>
    /// The loaded keys, refreshed once (under the JWKS cooldown) when <paramref name="kid"/> is not among them. A kid
    /// still unknown then cannot be verified by any key, so the signature stage, which would only find that out at
    /// greater cost, is skipped; it is never remembered, as the key may be published later. Checked against the
    /// freshest set, which another request may have loaded since this one asked.
    /// </summary>
    private async ValueTask<(SigningKeyStore.KeySet Keys, bool KidKnown)> KeysForAsync(string? kid, CancellationToken cancellationToken)
    {
        var keys = await _keys.GetKeysAsync(cancellationToken);
        if (string.IsNullOrEmpty(kid) || keys.ByKid.ContainsKey(kid))
        {
            return (keys, true);
        }

        keys = await _keys.RefreshAsync(cancellationToken) ?? keys;
        return (keys, (_keys.Current ?? keys).ByKid.ContainsKey(kid));
    }

    /// <summary>The keys for <paramref name="kid"/>, or the answer when there are none to check it with.</summary>
    private async ValueTask<KeyLookup> KeysOrRefusalAsync(string? kid, CancellationToken cancellationToken)
    {
        try
        {
            var (keys, kidKnown) = await KeysForAsync(kid, cancellationToken);
            return kidKnown ? new KeyLookup(keys, null) : new KeyLookup(null, UnknownKid());
        }
        catch (SigningKeysUnavailableException ex)
        {
            return new KeyLookup(null, Invalid(ex));
        }
    }

    private readonly record struct KeyLookup(SigningKeyStore.KeySet? Keys, TokenValidationResult? Refusal)
    {
        [MemberNotNullWhen(true, nameof(Refusal))]
        [MemberNotNullWhen(false, nameof(Keys))]
        public bool Refused => Refusal is not null;
    }

    private static TokenValidationResult UnknownKid() =>
        Invalid(new SecurityTokenSignatureKeyNotFoundException("The token's kid is not in the environment's JWKS."));

    // A JOSE header is a few dozen bytes; one larger than this is left to the full parse.
    private const int MaxHeaderChars = 1024;

    private static readonly string[] HeaderMembers = ["alg", "kid"];

    /// <summary>The header's <c>alg</c> and <c>kid</c>, read without parsing the payload; nulls when unreadable.</summary>
    private static (string? Alg, string? Kid) HeaderOf(string token)
    {
        var dot = token.IndexOf('.');
        Span<string?> values = new string?[HeaderMembers.Length];
        return dot > 0 && dot <= MaxHeaderChars && TokenSegment.TryReadStrings(token.AsSpan(0, dot), HeaderMembers, values)
            ? (values[0], values[1])
            : default;
    }

    /// <summary>Used by <see cref="TokenValidationParameters.IssuerSigningKeyResolver"/>: the loaded key for the kid.</summary>
    public static IEnumerable<SecurityKey> ResolveSigningKey(SigningKeyStore store, string? kid)
    {
        var keys = store.Current;
        if (keys is null)
        {
            return [];
        }

        return !string.IsNullOrEmpty(kid) && keys.ByKid.TryGetValue(kid, out var key) ? [key] : [];
    }

    // Go's SDK reads scopes from the space-separated "scope" string, Node's from the "scopes" array: accept both.
    private static void SplitScopeString(ClaimsIdentity identity)
    {
        var scopeStrings = identity.FindAll(ScalekitClaims.Scope).ToArray();
        if (scopeStrings.Length == 0)
        {
            return;
        }

        // A set, not a HasClaim scan per value: that was quadratic, and a scope string of 5000 values (25 KB, inside
        // the header limit) took seconds of CPU for one request.
        var present = identity.FindAll(ScalekitClaims.Scopes).Select(claim => claim.Value).ToHashSet(StringComparer.Ordinal);
        foreach (var scope in scopeStrings)
        {
            foreach (var value in scope.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (present.Add(value))
                {
                    identity.AddClaim(new Claim(ScalekitClaims.Scopes, value, ClaimValueTypes.String, scope.Issuer));
                }
            }
        }
    }

    private static TokenValidationResult Invalid(Exception exception) => new() { IsValid = false, Exception = exception };
}

public sealed class IdTokenRejectedException()
    : SecurityTokenValidationException("An ID token was presented where an access token is required.");

/// <summary>The token's <c>iat</c> lies ahead of now by more than the clock skew: judged like a token not yet valid.</summary>
public sealed class IssuedInTheFutureException()
    : SecurityTokenNotYetValidException("The token's iat is later than now, beyond the clock skew.");

/// <summary>The token's <c>typ</c> header names another kind of token than an access token.</summary>
public sealed class TokenTypeRejectedException()
    : SecurityTokenValidationException("The token's typ header names another kind of token than an access token.");

/// <summary>
/// The token's header names no signing key: refused before any key is tried, and told apart from a kid the
/// environment does not publish (<see cref="SecurityTokenSignatureKeyNotFoundException"/>), which a key rotation explains.
/// </summary>
public sealed class KidMissingException()
    : SecurityTokenValidationException("The token's header names no signing key (kid).");
