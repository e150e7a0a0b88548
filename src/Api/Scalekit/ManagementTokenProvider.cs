using System.Net;
using System.Text.Json;
using Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace Api.Scalekit;

/// <summary>
/// Obtains the client-credentials token for Scalekit's management API and caches it by its <c>expires_in</c>.
/// Concurrent callers share one in-flight request; a token Scalekit rejects is dropped and fetched anew. A failed fetch
/// is remembered for a short cooldown, during which callers are answered at once instead of starting another.
/// </summary>
public sealed class ManagementTokenProvider(
    IHttpClientFactory httpClientFactory,
    IOptionsMonitor<ScalekitOptions> options,
    IManagementTokenStore sharedTokens,
    TimeProvider timeProvider,
    ApiMetrics metrics,
    ILogger<ManagementTokenProvider> logger)
{
    public const string HttpClientName = "Scalekit.OAuth";

    /// <summary>How long a token is kept when Scalekit's answer gives no (or a zero) <c>expires_in</c>.</summary>
    public static readonly TimeSpan UnknownLifetime = TimeSpan.FromHours(1);

    /// <summary>The longest a failed fetch is remembered, whatever Retry-After the token endpoint sent.</summary>
    public static readonly TimeSpan LongestFetchCooldown = UpstreamRetryAfter.LongestPassedOn;

    private readonly Lock _gate = new();
    private volatile CachedToken? _current;
    private volatile string? _lastRejected;
    private Task<CachedToken>? _inFlight;
    private volatile FailedFetch? _failed;
    // When a refused token was last dropped (UTC ticks; 0 = never).
    private long _lastDroppedTicks;

    /// <summary>Whether a fetch failed (other than by refused credentials) and no token was obtained since.</summary>
    public bool LastFetchFailed => _failed is not null;

    public ValueTask<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        var current = _current;
        if (current is not null && current.RefreshAt > timeProvider.GetUtcNow())
        {
            return ValueTask.FromResult(current.Value);
        }

        return new ValueTask<string>(RefreshAsync(cancellationToken));
    }

    /// <summary>
    /// Forgets <paramref name="rejectedToken"/> here and in the shared store, unless a newer token replaced it, or it
    /// is itself the replacement of a refused token and was fetched within <c>Scalekit:TokenFetchCooldown</c>: then it
    /// is Scalekit refusing this API's client, another fetch would be refused alike, and it is kept (the next call
    /// gets the token back unchanged) until the cooldown has passed. A revoked client costs one token fetch per
    /// cooldown, not one per call.
    /// </summary>
    public async Task InvalidateAsync(string rejectedToken, CancellationToken cancellationToken)
    {
        _lastRejected = rejectedToken;
        var current = _current;
        if (current is not null && current.Value == rejectedToken)
        {
            var now = timeProvider.GetUtcNow();
            var dropped = Interlocked.Read(ref _lastDroppedTicks);
            if (dropped != 0 && current.ObtainedAt.UtcTicks >= dropped && now - current.ObtainedAt < options.CurrentValue.TokenFetchCooldown)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _current, null, current) == current)
            {
                Interlocked.Exchange(ref _lastDroppedTicks, now.UtcTicks);
            }
        }

        await sharedTokens.RemoveAsync(rejectedToken, cancellationToken);
    }

    private async Task<string> RefreshAsync(CancellationToken cancellationToken)
    {
        Task<CachedToken> fetch;
        lock (_gate)
        {
            var now = timeProvider.GetUtcNow();
            var current = _current;
            if (current is not null && current.RefreshAt > now)
            {
                return current.Value;
            }

            // Within the cooldown of a failed fetch nobody asks the endpoint again (it is down, or asked us to wait):
            // the token in its refresh margin serves while it lives; otherwise only another replica's can help.
            DateTimeOffset? coolingUntil = _failed is { Until: var until } && until > now ? until : null;
            if (coolingUntil is not null && current is not null && current.ExpiresAt > now)
            {
                return current.Value;
            }

            // One request for everybody; it is not tied to the first caller's cancellation, so it may fail after every
            // caller has hung up (its failure is remembered in _failed, not left unobserved). A fetch that completed
            // synchronously ran its cleanup before it was stored here: never reuse a finished one.
            if (_inFlight is null || _inFlight.IsCompleted)
            {
                _inFlight = FetchAndStoreAsync(coolingUntil).ObserveFailure();
            }

            fetch = _inFlight;
        }

        try
        {
            var token = await fetch.WaitAsync(cancellationToken);
            return token.Value;
        }
        catch (ManagementTokenException ex) when (!ex.CredentialsRejected && _current is { } current && current.ExpiresAt > timeProvider.GetUtcNow())
        {
            return current.Value;
        }
    }

    /// <param name="coolingUntil">The end of a failed fetch's cooldown: until then only the shared store is read.</param>
    private async Task<CachedToken> FetchAndStoreAsync(DateTimeOffset? coolingUntil)
    {
        try
        {
            // Another replica may have fetched one already (even while this one's fetch is cooling down); Scalekit is
            // asked only when none is shared.
            var shared = await sharedTokens.GetAsync(CancellationToken.None);
            var now = timeProvider.GetUtcNow();
            if (shared is not null && shared.RefreshAt > now && shared.Value != _lastRejected)
            {
                _failed = null;
                return _current = new CachedToken(shared.Value, shared.RefreshAt, shared.RefreshAt, now);
            }

            if (coolingUntil is { } until)
            {
                throw new ManagementTokenException(credentialsRejected: false, "The Scalekit token endpoint failed moments ago.")
                {
                    RetryAfter = until - now,
                };
            }

            var token = await FetchAsync();
            _current = token;
            _failed = null;
            await sharedTokens.SetAsync(new SharedManagementToken(token.Value, token.RefreshAt), CancellationToken.None);
            metrics.ManagementTokenRefreshed("success");
            return token;
        }
        // During a cooldown the endpoint was not asked: the earlier failure is neither counted nor remembered anew.
        catch (ManagementTokenException ex) when (coolingUntil is null)
        {
            metrics.ManagementTokenRefreshed(ex.CredentialsRejected ? "rejected" : "unavailable");
            // Set before the in-flight fetch is cleared, so no caller slips in between and fetches again. Refused
            // credentials are not held back: they have their own answer (502, and readiness Unhealthy).
            if (!ex.CredentialsRejected)
            {
                // Callers are told to come back when the endpoint will be asked again, not sooner.
                var cooldown = Cooldown(ex);
                _failed = new FailedFetch(timeProvider.GetUtcNow() + cooldown);
                ex.RetryAfter = cooldown;
            }

            throw;
        }
        finally
        {
            lock (_gate)
            {
                _inFlight = null;
            }
        }
    }

    private async Task<CachedToken> FetchAsync()
    {
        var settings = options.CurrentValue;
        var client = httpClientFactory.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(settings.BaseUri, "oauth/token"))
        {
            Content = new FormUrlEncodedContent(
            [
                new("grant_type", "client_credentials"),
                new("client_id", settings.ClientId!),
                new("client_secret", settings.ClientSecret!),
            ]),
        };

        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, CancellationToken.None);
        }
        // A body refused while it was read (over the size limit) is as much a failure of the endpoint as no answer.
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or Polly.ExecutionRejectedException or ScalekitContractException)
        {
            logger.LogWarning("Scalekit token endpoint unreachable: {ErrorType}", ex.GetType().Name);
            throw new ManagementTokenException(credentialsRejected: false, "The Scalekit token endpoint could not be reached.", ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var rejected = response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;
                logger.LogWarning("Scalekit token endpoint answered {StatusCode}", (int)response.StatusCode);
                throw new ManagementTokenException(rejected, $"The Scalekit token endpoint answered {(int)response.StatusCode}.")
                {
                    RetryAfter = UpstreamRetryAfter.From(response.Headers.RetryAfter, timeProvider),
                };
            }

            ScalekitTokenResponse? body;
            try
            {
                body = await response.Content.ReadFromJsonAsync(ScalekitJsonContext.Default.ScalekitTokenResponse);
            }
            // InvalidOperationException: a charset in Content-Type that names no encoding, refused before any JSON is read.
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                throw Unusable("with unreadable JSON", ex);
            }

            if (string.IsNullOrEmpty(body?.AccessToken))
            {
                throw Unusable("without an access_token");
            }

            // It travels in an Authorization header: one with a line break or a non-ASCII character could not be sent,
            // and every call would fail until the token expired.
            if (!IsBearerCredential(body.AccessToken))
            {
                throw Unusable("an access_token that cannot be sent as a bearer token");
            }

            // RFC 6749 7.1: the type says how the token must be presented. Sent as a bearer token, any other kind (DPoP,
            // MAC) would be refused on every call; none at all (or "", an unset field) is what Scalekit's SDKs assume,
            // Bearer. Compared without case (5.1).
            if (body.TokenType is { Length: > 0 } type && !string.Equals(type, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                throw Unusable("a token_type other than Bearer");
            }

            var now = timeProvider.GetUtcNow();
            // Without a usable expires_in (absent, or under a second) the token would be due for refresh the moment it arrived, and every call would
            // fetch a new one: assume an hour instead (a token that dies sooner is replaced on its first 401).
            var lifetime = body.ExpiresIn is >= 1 and var seconds
                ? TimeSpan.FromSeconds(Math.Min(seconds, TimeSpan.FromDays(7).TotalSeconds))
                : UnknownLifetime;
            // A short-lived token would otherwise be "expired" the moment it arrives: keep at least half its life.
            var margin = TimeSpan.FromTicks(Math.Min(settings.TokenRefreshMargin.Ticks, lifetime.Ticks / 2));
            logger.LogInformation("Obtained a Scalekit management token valid for {Lifetime}", lifetime);
            return new CachedToken(body.AccessToken, now + lifetime - margin, now + lifetime, now);
        }
    }

    // A 2xx whose body gives no usable token: logged here, as the 503 callers get says only that the endpoint is unavailable.
    private ManagementTokenException Unusable(string what, Exception? inner = null)
    {
        logger.LogWarning("Scalekit token endpoint answered {What}", what);
        return new ManagementTokenException(credentialsRejected: false, $"The Scalekit token endpoint answered {what}.", inner);
    }

    // Visible ASCII only (RFC 6750's b64token is a subset); Scalekit's tokens are JWTs or opaque base64url strings.
    private static bool IsBearerCredential(string token) => !token.AsSpan().ContainsAnyExceptInRange('!', '~');

    // The endpoint's own Retry-After when it sent one (a rate limit says how long), else the configured cooldown; capped
    // so a long Retry-After does not keep a recovered endpoint unasked for long.
    private TimeSpan Cooldown(ManagementTokenException failure)
    {
        var wait = failure.RetryAfter ?? options.CurrentValue.TokenFetchCooldown;
        return wait < LongestFetchCooldown ? wait : LongestFetchCooldown;
    }

    private sealed record CachedToken(string Value, DateTimeOffset RefreshAt, DateTimeOffset ExpiresAt, DateTimeOffset ObtainedAt);

    private sealed record FailedFetch(DateTimeOffset Until);
}

/// <summary>The management token could not be obtained: Scalekit refused our credentials, or could not be reached.</summary>
public sealed class ManagementTokenException(bool credentialsRejected, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public bool CredentialsRejected { get; } = credentialsRejected;

    /// <summary>
    /// How long to wait before asking again: the token endpoint's own Retry-After when it sent one (e.g. with a 429),
    /// then, once the fetch has failed, the cooldown before the endpoint is asked again.
    /// </summary>
    public TimeSpan? RetryAfter { get; set; }
}
