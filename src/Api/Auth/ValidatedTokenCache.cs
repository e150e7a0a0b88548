using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Security.Cryptography;
using Api.Infrastructure;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Api.Auth;

/// <summary>
/// Access tokens that passed full validation, keyed by the SHA-256 of the whole token string, so a repeated token
/// skips parsing and the RSA verify. An entry lives until the earlier of the token's own <c>exp</c> (the clock-skew
/// grace is not extended to cached tokens) and <see cref="CachingOptions.ValidatedTokenTtl"/>, and only while the
/// key that signed it is still published: a key retired from the JWKS ends its tokens at the next key refresh.
/// Failures are never stored here (see <see cref="RejectedTokenCache"/>). Every hit hands out a fresh copy of the identity (identities are mutable).
/// The key is the token alone because one handler serves one set of validation parameters (the bearer scheme's).
/// An entry keeps the parsed token and its claims, about ten times the token's length (8 KB for a token of 850
/// characters), so a token counts one entry per started <see cref="CharsPerEntry"/> characters: the bound then holds the
/// memory (about 120 MB at the default 10000) whatever the tokens carry.
/// </summary>
public sealed class ValidatedTokenCache : IDisposable
{
    public const string MeterName = "Api.Auth";
    public const string LookupsInstrument = "api.auth.token_cache.lookups";

    private static readonly KeyValuePair<string, object?> Hit = new("result", "hit");
    private static readonly KeyValuePair<string, object?> Miss = new("result", "miss");

    /// <summary>A token counts one entry per started this many characters.</summary>
    public const int CharsPerEntry = 1024;

    private readonly MemoryCache? _entries;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly Counter<long> _lookups;

    public ValidatedTokenCache(IOptions<CachingOptions> options, TimeProvider time, IMeterFactory meters)
    {
        var settings = options.Value;
        _ttl = settings.ValidatedTokenTtl;
        _time = time;
        _lookups = meters.Create(MeterName).CreateCounter<long>(LookupsInstrument, description: "Validated-token cache lookups by result (hit or miss).");
        if (_ttl > TimeSpan.Zero)
        {
            _entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = settings.ValidatedTokenMaxEntries });
        }
    }

    public bool Enabled => _entries is not null;

    /// <summary>A copy of the remembered validation of <paramref name="key"/>'s token, if it is still good under <paramref name="keys"/>.</summary>
    public bool TryGet(in TokenKey key, SigningKeyStore.KeySet? keys, out TokenValidationResult result)
    {
        result = null!;
        if (_entries is null)
        {
            return false;
        }

        if (_entries.TryGetValue(key, out var value)
            && value is Entry entry
            && entry.NotAfter > _time.GetUtcNow()
            && keys is not null
            && (entry.Kid is null || keys.ByKid.ContainsKey(entry.Kid)))
        {
            _lookups.Add(1, Hit);
            result = new TokenValidationResult
            {
                IsValid = true,
                ClaimsIdentity = entry.Identity.Clone(),
                SecurityToken = entry.Token,
            };
            return true;
        }

        _lookups.Add(1, Miss);
        return false;
    }

    /// <summary>Remembers a successful validation; tokens already past their <c>exp</c> (inside the skew grace) are not kept.</summary>
    public void Remember(in TokenKey key, JsonWebToken token, ClaimsIdentity identity)
    {
        if (_entries is null)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var expires = new DateTimeOffset(token.ValidTo, TimeSpan.Zero);
        var notAfter = expires < now + _ttl ? expires : now + _ttl;
        if (notAfter <= now)
        {
            return;
        }

        _entries.Set(key, new Entry(identity.Clone(), token, string.IsNullOrEmpty(token.Kid) ? null : token.Kid, notAfter), new MemoryCacheEntryOptions
        {
            AbsoluteExpiration = notAfter,
            // Counted by length: 3000 tokens with 200 permissions each (7 KB) held 283 MB as 3000 entries.
            Size = 1 + (token.EncodedToken.Length - 1) / CharsPerEntry,
        });
    }

    public void Dispose() => _entries?.Dispose();

    private sealed record Entry(ClaimsIdentity Identity, JsonWebToken Token, string? Kid, DateTimeOffset NotAfter);
}

/// <summary>The SHA-256 of a token string: the cache never holds tokens as keys, and equal hashes mean equal tokens.</summary>
public readonly record struct TokenKey(UInt128 High, UInt128 Low)
{
    public static TokenKey Of(string token)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        // Tokens are ASCII; hashing the UTF-16 code units avoids an encoding pass and a buffer.
        SHA256.HashData(MemoryMarshal.AsBytes(token.AsSpan()), hash);
        var halves = MemoryMarshal.Cast<byte, UInt128>(hash);
        return new TokenKey(halves[0], halves[1]);
    }
}
