using System.Diagnostics;
using Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;

namespace Api.Auth;

/// <summary>
/// The audit trail: one structured event per access decision (Information when denied, Debug when allowed) with the
/// route, policy, reason code, caller identifiers and trace id, plus the denial counter. Never the token itself.
/// </summary>
public sealed partial class AccessAudit(ILogger<AccessAudit> logger, ApiMetrics metrics)
{
    private const int MaxClaimLength = 128;

    /// <summary>Audits a failed authorization with the reason its <see cref="AccessDenial"/> gives, and returns that denial.</summary>
    public AccessDenial? Denied(HttpContext http, AuthorizationFailure? failure)
    {
        var denial = failure?.FailureReasons.OfType<AccessDenial>().FirstOrDefault();
        Denied(http, denial?.Decision.Code ?? ProblemReasons.NoPolicy.Code, denial?.Policy);
        return denial;
    }

    public void Denied(HttpContext http, string reason, string? policy = null)
    {
        policy ??= PolicyOf(http);
        metrics.AccessDenied(reason, policy);
        Write(LogLevel.Information, "deny", http, reason, policy);
    }

    public void Allowed(HttpContext http)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Write(LogLevel.Debug, "allow", http, "allowed", PolicyOf(http));
        }
    }

    private void Write(LogLevel level, string decision, HttpContext http, string reason, string policy)
    {
        var caller = CallerClaims.Of(http);
        LogDecision(level, decision, http.Request.Method, http.RouteTemplateOf(), policy, reason,
            caller.Subject, caller.ClientId, caller.OrganizationId, caller.TokenId, caller.Verified,
            Activity.Current?.TraceId.ToString() ?? http.TraceIdentifier);
    }

    [LoggerMessage(EventId = 4100, EventName = "AccessDecision",
        Message = "Access {Decision} for {Method} {Route} by policy {Policy}: {Reason} (sub {Subject}, client_id {ClientId}, oid {OrganizationId}, jti {TokenId}, claims verified {ClaimsVerified}, trace {TraceId})")]
    private partial void LogDecision(LogLevel level, string decision, string method, string route, string policy, string reason,
        string? subject, string? clientId, string? organizationId, string? tokenId, bool claimsVerified, string traceId);

    private static string PolicyOf(HttpContext http) =>
        http.GetEndpoint() is { } endpoint ? Policies.In(endpoint.Metadata).LastOrDefault() ?? "(fallback)" : "(fallback)";

    /// <summary>
    /// The caller's identifiers: from the validated principal, or, for a rejected token, as the token claims them
    /// (unverified, so marked as such, cleaned of control characters and capped).
    /// </summary>
    private sealed record CallerClaims(string? Subject, string? ClientId, string? OrganizationId, string? TokenId, bool Verified)
    {
        private static readonly CallerClaims None = new(null, null, null, null, false);

        public static CallerClaims Of(HttpContext http)
        {
            if (http.User.Identity?.IsAuthenticated == true)
            {
                var user = http.User;
                return new(ScalekitClaims.SubjectOf(user), ScalekitClaims.ClientIdOf(user), ScalekitClaims.OrganizationIdOf(user),
                    user.FindFirst(ScalekitClaims.TokenId)?.Value, true);
            }

            return Unverified(http.Request.Headers.Authorization.ToString());
        }

        // At most this much payload is read for the audit; a larger token's claims are not worth the work.
        private const int MaxPayloadChars = 16 * 1024;

        private static CallerClaims Unverified(string authorization)
        {
            const string scheme = "Bearer ";
            if (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return None;
            }

            // Only the four identifiers are wanted, so only the payload segment is decoded and only its top-level
            // strings are read: a flood of rejected tokens should not pay for a full parse a second time.
            var raw = authorization.AsSpan(scheme.Length).Trim();
            var firstDot = raw.IndexOf('.');
            var payloadLength = firstDot < 0 ? -1 : raw[(firstDot + 1)..].IndexOf('.');
            if (payloadLength <= 0 || payloadLength > MaxPayloadChars)
            {
                return None;
            }

            Span<string?> values = new string?[Wanted.Length];
            if (!TokenSegment.TryReadStrings(raw.Slice(firstDot + 1, payloadLength), Wanted, values))
            {
                return None;
            }

            return new(Clean(values[0]), Clean(values[1]), Clean(values[2]), Clean(values[3]), false);
        }

        private static readonly string[] Wanted = [ScalekitClaims.Subject, ScalekitClaims.ClientId, ScalekitClaims.OrganizationId, ScalekitClaims.TokenId];

        private static string? Clean(string? claim) => PrintableText.Clean(claim, MaxClaimLength);

    }
}
