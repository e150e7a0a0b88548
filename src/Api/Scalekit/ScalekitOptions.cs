using Microsoft.Extensions.Options;

namespace Api.Scalekit;

/// <summary>The <c>Scalekit</c> configuration section: where the environment is and how this API identifies itself.</summary>
public sealed class ScalekitOptions
{
    public const string SectionName = "Scalekit";

    public string? EnvironmentUrl { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    public string[] Audiences { get; set; } = [];

    public string[] Issuers { get; set; } = [];

    /// <summary>How long before <c>expires_in</c> runs out the management token is replaced.</summary>
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a failed management-token fetch is remembered (callers get 503 at once meanwhile) when the token endpoint
    /// sent no Retry-After.
    /// </summary>
    public TimeSpan TokenFetchCooldown { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Least time between two JWKS fetches caused by unknown <c>kid</c>s or failures.</summary>
    public TimeSpan JwksRefreshCooldown { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Signing keys are refetched in the background after this long even when every <c>kid</c> is known.</summary>
    public TimeSpan JwksAutomaticRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Whether calls to Scalekit (management API, token endpoint, JWKS) use HTTP/2.</summary>
    public ScalekitHttp2 Http2 { get; set; } = ScalekitHttp2.Negotiate;

    public Uri BaseUri => new(EnvironmentUrl!.TrimEnd('/') + "/", UriKind.Absolute);

    /// <summary>Issuers accepted in <c>iss</c>: the configured ones, or the environment URL itself.</summary>
    public IReadOnlyList<string> EffectiveIssuers =>
        Issuers.Length > 0 ? Issuers : [EnvironmentUrl!.TrimEnd('/')];
}

internal sealed class ScalekitOptionsValidator : IValidateOptions<ScalekitOptions>
{
    public ValidateOptionsResult Validate(string? name, ScalekitOptions options)
    {
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.EnvironmentUrl))
        {
            failures.Add("Scalekit:EnvironmentUrl is required (env Scalekit__EnvironmentUrl), e.g. https://acme.scalekit.dev.");
        }
        else if (UrlRule(options.EnvironmentUrl) is { } problem)
        {
            failures.Add($"Scalekit:EnvironmentUrl {problem}");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            failures.Add("Scalekit:ClientId is required (env Scalekit__ClientId): the API client's id (skc_...).");
        }
        else if (WhitespaceRule(options.ClientId) is { } problem)
        {
            failures.Add($"Scalekit:ClientId {problem}");
        }

        if (string.IsNullOrWhiteSpace(options.ClientSecret))
        {
            failures.Add("Scalekit:ClientSecret is required (env Scalekit__ClientSecret or user-secrets; never a committed file).");
        }
        else if (WhitespaceRule(options.ClientSecret) is { } problem)
        {
            failures.Add($"Scalekit:ClientSecret {problem}");
        }

        if (options.Audiences.Length == 0 || options.Audiences.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add("Scalekit:Audiences needs at least one non-empty value (env Scalekit__Audiences__0): the accepted 'aud' of access tokens.");
        }

        // Compared exactly with each token's aud: one read from a file with its newline refused every token (401).
        for (var i = 0; i < options.Audiences.Length; i++)
        {
            if (!string.IsNullOrWhiteSpace(options.Audiences[i]) && WhitespaceRule(options.Audiences[i]) is { } problem)
            {
                failures.Add($"Scalekit:Audiences:{i} {problem}");
            }
        }

        for (var i = 0; i < options.Issuers.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Issuers[i]))
            {
                failures.Add($"Scalekit:Issuers:{i} is empty.");
            }
            else if (UrlRule(options.Issuers[i]) is { } problem)
            {
                failures.Add($"Scalekit:Issuers:{i} {problem}");
            }
        }

        if (options.TokenRefreshMargin < TimeSpan.Zero)
        {
            failures.Add("Scalekit:TokenRefreshMargin must not be negative.");
        }

        if (options.TokenFetchCooldown < TimeSpan.Zero || options.TokenFetchCooldown > ManagementTokenProvider.LongestFetchCooldown)
        {
            failures.Add("Scalekit:TokenFetchCooldown must be between 00:00:00 and 00:01:00.");
        }

        // The cooldown also spaces out retries after a failed key fetch: one failure at startup answers every
        // request 503 until it ends, and tokens signed with a rotated-in key are refused for as long.
        if (options.JwksRefreshCooldown < TimeSpan.Zero || options.JwksRefreshCooldown > LongestJwksRefreshCooldown)
        {
            failures.Add("Scalekit:JwksRefreshCooldown must be between 00:00:00 and 00:05:00.");
        }

        // A key Scalekit retired keeps validating tokens until the next refresh.
        if (options.JwksAutomaticRefreshInterval <= TimeSpan.Zero || options.JwksAutomaticRefreshInterval > LongestJwksAutomaticRefreshInterval)
        {
            failures.Add("Scalekit:JwksAutomaticRefreshInterval must be positive and at most 1.00:00:00.");
        }

        // The binder takes any number for an enum ("Scalekit__Http2=7"), which would silently mean Negotiate.
        if (!Enum.IsDefined(options.Http2))
        {
            failures.Add($"Scalekit:Http2 must be one of {string.Join(", ", Enum.GetNames<ScalekitHttp2>())}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static readonly TimeSpan LongestJwksRefreshCooldown = TimeSpan.FromMinutes(5);
    internal static readonly TimeSpan LongestJwksAutomaticRefreshInterval = TimeSpan.FromDays(1);

    // A value mounted from a file (Kubernetes --from-file, Docker secrets) often ends with a newline, which the binder
    // keeps. Sent as is, the credentials are refused by Scalekit, found only when readiness reports it. The value itself
    // is never repeated: it may be the secret.
    internal static string? WhitespaceRule(string value) =>
        value.Length > 0 && char.IsWhiteSpace(value[^1]) ? "ends with whitespace (a newline from a secret file?): remove it."
        : value.Length > 0 && char.IsWhiteSpace(value[0]) ? "begins with whitespace: remove it."
        : null;

    // Plain http would let anyone on the path swap the signing keys; only a local emulator or fake may use it.
    internal static string? UrlRule(string value)
    {
        // Uri.TryCreate trims them, but the issuer compared with each token's iss, and the base of every Scalekit URL,
        // would keep them: every token refused (401) or no signing key fetched (503).
        if (WhitespaceRule(value) is { } whitespace)
        {
            return whitespace;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return $"must be an absolute https:// URL, got '{value}'.";
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return "must not carry a query, fragment or credentials.";
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri))
        {
            return $"must use https:// (http:// is accepted only for localhost, 127.0.0.1 or ::1), got '{value}'.";
        }

        return null;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.Host is "localhost" or "127.0.0.1" or "[::1]" or "::1";
}
