using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Api.Auth;

/// <summary>Where an endpoint finds the organization it acts on, which <c>SameOrganization</c> compares with the <c>oid</c>.</summary>
public enum OrganizationScope
{
    /// <summary>The <c>{id}</c> route value (the default).</summary>
    RouteId,

    /// <summary>The caller's own <c>oid</c>: <c>SameOrganization</c> then only needs the token to carry one.</summary>
    CallersOrganization,

    /// <summary>
    /// Known only once the handler has looked the organization up. The authorization middleware lets a
    /// <c>SameOrganization</c> alternative through provisionally; the handler must authorize the found
    /// <see cref="OrganizationResource"/> with the same policy before answering.
    /// </summary>
    FoundByHandler,
}

/// <summary>Endpoint metadata naming the endpoint's <see cref="OrganizationScope"/>; absent means <see cref="OrganizationScope.RouteId"/>.</summary>
public sealed record OrganizationScopeMetadata(OrganizationScope Scope);

/// <summary>An organization a handler has found, authorized against a policy with <c>IAuthorizationService</c>.</summary>
public sealed record OrganizationResource(string Id);

/// <summary>The organization a request is about, as far as it is known when a policy is evaluated.</summary>
public readonly record struct OrganizationTarget(string? Id, bool Pending)
{
    public static OrganizationTarget Of(object? resource, ClaimsPrincipal user) => resource switch
    {
        OrganizationResource found => new(found.Id, Pending: false),
        HttpContext http => (http.GetEndpoint()?.Metadata.GetMetadata<OrganizationScopeMetadata>()?.Scope ?? OrganizationScope.RouteId) switch
        {
            OrganizationScope.CallersOrganization => new(ScalekitClaims.OrganizationIdOf(user), Pending: false),
            OrganizationScope.FoundByHandler => new(null, Pending: true),
            _ => new(http.GetRouteValue(AccessRuleRequirement.OrganizationRouteValue) as string, Pending: false),
        },
        // Nothing to compare with: a SameOrganization alternative fails closed.
        _ => new(null, Pending: false),
    };
}

public static class OrganizationScopeExtensions
{
    public static RouteHandlerBuilder ActsOnCallersOrganization(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new OrganizationScopeMetadata(OrganizationScope.CallersOrganization));

    public static RouteHandlerBuilder ActsOnOrganizationFoundByHandler(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new OrganizationScopeMetadata(OrganizationScope.FoundByHandler));
}

public static class OrganizationAuthorization
{
    /// <summary>
    /// Evaluates <paramref name="policy"/> for the organization a <see cref="OrganizationScope.FoundByHandler"/>
    /// endpoint has found; the middleware could only check what did not depend on it. A denial is audited as the
    /// middleware audits its own, so a caller probing other organizations shows in the audit trail either way.
    /// </summary>
    public static async Task<bool> MayActOnAsync(
        this IAuthorizationService authorization, AccessAudit audit, HttpContext http, string organizationId, string policy)
    {
        var result = await authorization.AuthorizeAsync(http.User, new OrganizationResource(organizationId), policy);
        if (!result.Succeeded)
        {
            audit.Denied(http, result.Failure);
        }

        return result.Succeeded;
    }
}
