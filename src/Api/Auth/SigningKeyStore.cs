using System.Collections.Frozen;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Api.Auth;

/// <summary>
/// The Scalekit environment's RSA signing keys from <c>{env}/keys</c>. Fetches are rate-limited by a cooldown so a
/// flood of unknown <c>kid</c>s cannot hammer Scalekit; a failed or empty answer never replaces keys that worked.
/// </summary>
public sealed class SigningKeyStore(
    IHttpClientFactory httpClientFactory,
    IOptionsMonitor<ScalekitOptions> options,
    TimeProvider timeProvider,
    ApiMetrics metrics,
    ILogger<SigningKeyStore> logger)
{
    public const string HttpClientName = "Scalekit.Jwks";

    public const int MinimumRsaKeyBits = 2048;

    private readonly Lock _gate = new();
    private volatile KeySet? _keys;
    private Task<KeySet?>? _inFlight;
    private long _lastAttemptTicks = long.MinValue;

    public bool HasKeys => _keys is not null;

    /// <summary>Keys by kid as last fetched; null until a fetch succeeded.</summary>
    public KeySet? Current => _keys;

    /// <summary>The loaded keys; fetches them first when none were ever loaded.</summary>
    public async ValueTask<KeySet> GetKeysAsync(CancellationToken cancellationToken = default)
    {
        var keys = _keys;
        if (keys is not null)
        {
            if (timeProvider.GetUtcNow() - keys.FetchedAt > options.CurrentValue.JwksAutomaticRefreshInterval)
            {
                _ = RefreshAsync();
            }

            return keys;
        }

        return await RefreshAsync(cancellationToken) ?? throw new SigningKeysUnavailableException(RetryAfter());
    }

    /// <summary>
    /// Refetches (at most once per cooldown, one request for all callers) and answers the newest keys. A caller whose
    /// <paramref name="cancellationToken"/> fires stops waiting; the fetch goes on for the others and still stores
    /// what it gets.
    /// </summary>
    public async ValueTask<KeySet?> RefreshAsync(CancellationToken cancellationToken = default)
    {
        Task<KeySet?> fetch;
        lock (_gate)
        {
            // A fetch that completed synchronously ran its cleanup before it was stored: never reuse a finished one.
            if (_inFlight is null || _inFlight.IsCompleted)
            {
                var now = timeProvider.GetUtcNow().UtcTicks;
                if (_lastAttemptTicks != long.MinValue && now - _lastAttemptTicks < options.CurrentValue.JwksRefreshCooldown.Ticks)
                {
                    return _keys;
                }

                _lastAttemptTicks = now;
                // Not tied to any caller: it may end after every caller has left, its failure then nobody's to observe.
                fetch = FetchAndStoreAsync().ObserveFailure();
                // A fetch that finished synchronously already ran its finally (this lock is reentrant): never park
                // a completed task here, or every later refresh would return its stale answer.
                if (!fetch.IsCompleted)
                {
                    _inFlight = fetch;
                }
            }
            else
            {
                fetch = _inFlight;
            }
        }

        return await fetch.WaitAsync(cancellationToken);
    }

    /// <summary>How long until the cooldown allows the next fetch.</summary>
    public TimeSpan RetryAfter()
    {
        var elapsed = TimeSpan.FromTicks(timeProvider.GetUtcNow().UtcTicks - Volatile.Read(ref _lastAttemptTicks));
        var wait = options.CurrentValue.JwksRefreshCooldown - elapsed;
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    private async Task<KeySet?> FetchAndStoreAsync()
    {
        try
        {
            var fetched = await FetchAsync();
            if (fetched is not null)
            {
                _keys = fetched;
            }

            return _keys;
        }
        finally
        {
            lock (_gate)
            {
                _inFlight = null;
            }
        }
    }

    private async Task<KeySet?> FetchAsync()
    {
        var uri = new Uri(options.CurrentValue.BaseUri, "keys");
        try
        {
            var client = httpClientFactory.CreateClient(HttpClientName);
            using var response = await client.GetAsync(uri);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("JWKS fetch answered {StatusCode}; keeping the keys already loaded", (int)response.StatusCode);
                metrics.JwksRefreshed("failure");
                return null;
            }

            var json = await response.Content.ReadAsStringAsync();
            var rsaSigningKeys = new JsonWebKeySet(json).Keys
                .Where(key => key.Kty == JsonWebAlgorithmsKeyTypes.RSA && !string.IsNullOrEmpty(key.Kid) && IsForRs256Verification(key))
                .ToList();
            // RFC 7518 3.3: RS256 keys MUST be 2048 bits or larger. The token library verifies with smaller ones, and a
            // 512-bit key can be factored: tokens "signed" by it would be forged, not issued.
            var strong = rsaSigningKeys.Where(key => KeySizeOf(key) >= MinimumRsaKeyBits).ToList();
            if (strong.Count < rsaSigningKeys.Count)
            {
                logger.LogWarning("JWKS published {WeakKeyCount} RSA keys under {MinimumBits} bits or unreadable; they are ignored",
                    rsaSigningKeys.Count - strong.Count, MinimumRsaKeyBits);
            }

            var keys = strong
                .GroupBy(key => key.Kid, StringComparer.Ordinal)
                .ToFrozenDictionary(group => group.Key, group => (SecurityKey)group.First(), StringComparer.Ordinal);

            if (keys.Count == 0)
            {
                logger.LogWarning("JWKS answered no usable RSA signing key; keeping the keys already loaded");
                metrics.JwksRefreshed("empty");
                return null;
            }

            logger.LogInformation("Loaded {KeyCount} signing keys from the Scalekit JWKS", keys.Count);
            metrics.JwksRefreshed("success");
            return new KeySet(keys, timeProvider.GetUtcNow());
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ArgumentException or InvalidOperationException)
        {
            logger.LogWarning("JWKS fetch failed ({ErrorType}); keeping the keys already loaded", ex.GetType().Name);
            metrics.JwksRefreshed("failure");
            return null;
        }
    }

    // RFC 7517 4.2-4.4: a key verifies only what it is published for. One meant for encryption ("use": "enc"), for
    // another algorithm ("alg": "RS512", "PS256") or for other operations ("key_ops" without "verify") must not
    // vouch for an RS256 signature, whatever its kid.
    private static bool IsForRs256Verification(JsonWebKey key) =>
        key.Use is null or "" or JsonWebKeyUseNames.Sig
        && key.Alg is null or "" or SecurityAlgorithms.RsaSha256
        && (key.KeyOps.Count == 0 || key.KeyOps.Contains(KeyOperationVerify));

    private const string KeyOperationVerify = "verify";

    // A modulus that is not base64url makes the library throw: that key is unusable, and must not sink the others with it.
    private static int KeySizeOf(JsonWebKey key)
    {
        try
        {
            return key.KeySize;
        }
        catch (FormatException)
        {
            return 0;
        }
    }

    public sealed record KeySet(FrozenDictionary<string, SecurityKey> ByKid, DateTimeOffset FetchedAt);
}

/// <summary>No signing key was ever obtained, so no token can be judged: the caller should come back later.</summary>
public sealed class SigningKeysUnavailableException(TimeSpan retryAfter)
    : Exception("The Scalekit signing keys are not available yet.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
