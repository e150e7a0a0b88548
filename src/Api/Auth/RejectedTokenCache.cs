using System.Diagnostics.Metrics;
using Api.Infrastructure;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Api.Auth;

/// <summary>
/// Tokens that failed validation for good, keyed like <see cref="ValidatedTokenCache"/> by the SHA-256 of the whole
/// token, so a client looping on an expired or tampered token (or a flood replaying one) costs a hash and a lookup
/// instead of an RSA verify each time. Only failures that no later moment can undo are kept:
/// an expired token, a wrong issuer or audience, a token without <c>exp</c>, and a signature that does not verify
/// under the current keys. A token whose <c>kid</c> is unknown, that is not yet valid, or that met a JWKS outage is
/// never kept, and a signature failure counts only while the key set that judged it is current: the first key
/// refresh ends it. An exact token string is the key, so no other token (a valid one above all) can ever match an
/// entry. Kept for <see cref="CachingOptions.ValidatedTokenTtl"/> at most, in its own store of
/// <see cref="CachingOptions.ValidatedTokenMaxEntries"/> entries, so rejected tokens never crowd out valid ones.
/// </summary>
public sealed class RejectedTokenCache : IDisposable
{
    public const string HitsInstrument = "api.auth.rejected_token_cache.hits";

    private readonly MemoryCache? _entries;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly Counter<long> _hits;

    public RejectedTokenCache(IOptions<CachingOptions> options, TimeProvider time, IMeterFactory meters)
    {
        var settings = options.Value;
        _ttl = settings.ValidatedTokenTtl;
        _time = time;
        _hits = meters.Create(ValidatedTokenCache.MeterName).CreateCounter<long>(HitsInstrument,
            description: "Requests whose token was answered from the rejected-token cache.");
        if (_ttl > TimeSpan.Zero)
        {
            _entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = settings.ValidatedTokenMaxEntries });
        }
    }

    /// <summary>The remembered rejection of <paramref name="key"/>'s token, if it still holds under <paramref name="keys"/>.</summary>
    public bool TryGet(in TokenKey key, SigningKeyStore.KeySet? keys, out TokenValidationResult result)
    {
        result = null!;
        if (_entries is not null
            && _entries.TryGetValue(key, out var value)
            && value is Entry entry
            && ReferenceEquals(entry.JudgedBy, keys))
        {
            _hits.Add(1);
            result = new TokenValidationResult { IsValid = false, Exception = entry.Failure };
            return true;
        }

        return false;
    }

    /// <summary>Remembers <paramref name="failure"/> if it is final for this token under <paramref name="keys"/>.</summary>
    public void Remember(in TokenKey key, SigningKeyStore.KeySet keys, Exception? failure)
    {
        if (_entries is null || !IsFinal(failure))
        {
            return;
        }

        _entries.Set(key, new Entry(keys, failure!), new MemoryCacheEntryOptions
        {
            AbsoluteExpiration = _time.GetUtcNow() + _ttl,
            Size = 1,
        });
    }

    /// <summary>Failures that stay true for this exact token string as long as the keys and settings do.</summary>
    public static bool IsFinal(Exception? failure) => failure switch
    {
        SecurityTokenSignatureKeyNotFoundException => false,  // the key may be published later
        SecurityTokenInvalidSignatureException => true,
        SecurityTokenExpiredException => true,
        SecurityTokenInvalidIssuerException => true,
        SecurityTokenInvalidAudienceException => true,
        SecurityTokenNoExpirationException => true,
        _ => false,                                           // not yet valid, key outage, anything unforeseen
    };

    public void Dispose() => _entries?.Dispose();

    private sealed record Entry(SigningKeyStore.KeySet JudgedBy, Exception Failure);
}
