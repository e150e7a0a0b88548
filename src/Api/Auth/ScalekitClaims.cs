using System.Security.Claims;

namespace Api.Auth;

/// <summary>Claim names of Scalekit access tokens (kept as issued: MapInboundClaims is off).</summary>
public static class ScalekitClaims
{
    public const string Subject = "sub";
    public const string OrganizationId = "oid";
    public const string ClientId = "client_id";
    public const string Roles = "roles";
    public const string Permissions = "permissions";
    public const string Scopes = "scopes";
    public const string Scope = "scope";
    public const string TokenId = "jti";

    /// <summary>
    /// The one organization the token names. An <c>oid</c> given more than once (a JSON array) names none: taking the
    /// first would let a token listing several organizations act on whichever came first.
    /// </summary>
    public static string? OrganizationIdOf(ClaimsPrincipal user)
    {
        using var claims = user.FindAll(OrganizationId).GetEnumerator();
        if (!claims.MoveNext())
        {
            return null;
        }

        var organization = claims.Current.Value;
        return claims.MoveNext() ? null : NonEmpty(organization);
    }

    public static string? SubjectOf(ClaimsPrincipal user) => NonEmpty(user.FindFirst(Subject)?.Value);

    public static string? ClientIdOf(ClaimsPrincipal user) => NonEmpty(user.FindFirst(ClientId)?.Value);

    /// <summary>
    /// Who is calling, for per-caller state (rate limits, idempotency keys): the <c>client_id</c> of a
    /// machine-to-machine token (whose <c>sub</c> is that same client id), the <c>sub</c> of a user token. A token
    /// without <c>sub</c> names no caller: its <c>client_id</c> is the application every user signs in to, not a caller.
    /// </summary>
    public static string? CallerOf(ClaimsPrincipal user)
    {
        var subject = SubjectOf(user);
        if (subject is null)
        {
            return null;
        }

        return IsMachine(subject, ClientIdOf(user)) ? $"client:{subject}" : $"user:{subject}";
    }

    /// <summary>
    /// A caller's grants: the permissions of a user token plus the scopes of a machine-to-machine token. A user
    /// token's scopes are what its client asked for at sign-in (<c>openid profile ...</c>), not what the user was
    /// granted, so they grant nothing here.
    /// </summary>
    public static bool HasGrant(ClaimsPrincipal user, string grant) =>
        user.HasClaim(Permissions, grant) || (user.HasClaim(Scopes, grant) && IsMachine(user));

    /// <summary>A client-credentials token: Scalekit issues it with <c>sub</c> equal to <c>client_id</c> (<c>m2morg_...</c>).</summary>
    public static bool IsMachine(ClaimsPrincipal user) => IsMachine(SubjectOf(user), ClientIdOf(user));

    private static bool IsMachine(string? subject, string? clientId) => subject is not null && subject == clientId;

    public static bool HasRole(ClaimsPrincipal user, string role) => user.HasClaim(Roles, role);

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
