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

    public static string? OrganizationIdOf(ClaimsPrincipal user) => NonEmpty(user.FindFirst(OrganizationId)?.Value);

    public static string? SubjectOf(ClaimsPrincipal user) => NonEmpty(user.FindFirst(Subject)?.Value);

    public static string? ClientIdOf(ClaimsPrincipal user) => NonEmpty(user.FindFirst(ClientId)?.Value);

    /// <summary>A caller's grants: the permissions of a user token plus the scopes of a machine-to-machine token.</summary>
    public static bool HasGrant(ClaimsPrincipal user, string grant) =>
        user.HasClaim(Permissions, grant) || user.HasClaim(Scopes, grant);

    public static bool HasRole(ClaimsPrincipal user, string role) => user.HasClaim(Roles, role);

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
