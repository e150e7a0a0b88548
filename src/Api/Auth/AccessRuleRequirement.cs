using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Api.Auth;

/// <summary>The requirement behind every named policy: the configured <see cref="AccessRule"/>.</summary>
public sealed class AccessRuleRequirement(string policy, AccessRule rule) : IAuthorizationRequirement
{
    public const string OrganizationRouteValue = "id";

    public string Policy { get; } = policy;

    public AccessRule Rule { get; } = rule;

    public AccessDecision Evaluate(ClaimsPrincipal user, string? routeOrganizationId)
    {
        // Report the failure closest to success: "you hold the grant but this is not your organization" becomes
        // a 404 that looks exactly like a real not-found, so callers cannot probe other tenants' ids.
        // Plain loops: this runs on every request, and allowed requests should allocate nothing here.
        AccessDecision? closest = null;
        foreach (var alternative in Rule.AnyOf)
        {
            var decision = Evaluate(alternative, user, routeOrganizationId);
            if (decision.Allowed)
            {
                return AccessDecision.Allow;
            }

            if (closest is null || Closeness(decision.Reason) > Closeness(closest.Reason))
            {
                closest = decision;
            }
        }

        return closest is { Reason: not AccessDenialReason.MissingGrant }
            ? closest
            : new AccessDecision(false, AccessDenialReason.MissingGrant,
                Rule.AnyOf.SelectMany(a => a.Grants).Distinct(StringComparer.Ordinal).ToArray(), []);
    }

    private static int Closeness(AccessDenialReason reason) => reason switch
    {
        AccessDenialReason.OrganizationMismatch => 3,
        AccessDenialReason.OrganizationMissing => 2,
        AccessDenialReason.MissingRole => 1,
        _ => 0,
    };

    private static AccessDecision Evaluate(AccessAlternative alternative, ClaimsPrincipal user, string? routeOrganizationId)
    {
        if (alternative.Grants.Count > 0 && !HasAnyGrant(user, alternative.Grants))
        {
            return new AccessDecision(false, AccessDenialReason.MissingGrant, alternative.Grants, []);
        }

        foreach (var role in alternative.Roles)
        {
            if (!ScalekitClaims.HasRole(user, role))
            {
                return new AccessDecision(false, AccessDenialReason.MissingRole, [],
                    alternative.Roles.Where(r => !ScalekitClaims.HasRole(user, r)).ToArray());
            }
        }

        if (alternative.SameOrganization)
        {
            var callerOrganization = ScalekitClaims.OrganizationIdOf(user);
            if (callerOrganization is null)
            {
                return new AccessDecision(false, AccessDenialReason.OrganizationMissing, [], []);
            }

            if (!string.Equals(callerOrganization, routeOrganizationId, StringComparison.Ordinal))
            {
                return new AccessDecision(false, AccessDenialReason.OrganizationMismatch, [], []);
            }
        }

        return AccessDecision.Allow;
    }

    private static bool HasAnyGrant(ClaimsPrincipal user, List<string> grants)
    {
        foreach (var grant in grants)
        {
            if (ScalekitClaims.HasGrant(user, grant))
            {
                return true;
            }
        }

        return false;
    }
}

public enum AccessDenialReason
{
    None,
    MissingGrant,
    MissingRole,
    OrganizationMissing,
    OrganizationMismatch,
}

public sealed record AccessDecision(bool Allowed, AccessDenialReason Reason, IReadOnlyList<string> MissingGrants, IReadOnlyList<string> MissingRoles)
{
    public static readonly AccessDecision Allow = new(true, AccessDenialReason.None, [], []);

    /// <summary>The reason code used in responses, audit events and metrics.</summary>
    public string Code => Reason switch
    {
        AccessDenialReason.MissingGrant => "missing_grant",
        AccessDenialReason.MissingRole => "missing_role",
        AccessDenialReason.OrganizationMissing => "oid_missing",
        AccessDenialReason.OrganizationMismatch => "org_mismatch",
        _ => "allowed",
    };
}

/// <summary>Carries the decision from the handler to the response writer.</summary>
public sealed class AccessDenial(IAuthorizationHandler handler, string policy, AccessDecision decision)
    : AuthorizationFailureReason(handler, decision.Code)
{
    public string Policy { get; } = policy;

    public AccessDecision Decision { get; } = decision;
}

internal sealed class AccessRuleHandler : AuthorizationHandler<AccessRuleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AccessRuleRequirement requirement)
    {
        if (context.User.Identity?.IsAuthenticated != true)
        {
            return Task.CompletedTask;
        }

        var routeOrganizationId = (context.Resource as HttpContext)?.GetRouteValue(AccessRuleRequirement.OrganizationRouteValue) as string;
        var decision = requirement.Evaluate(context.User, routeOrganizationId);
        if (decision.Allowed)
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AccessDenial(this, requirement.Policy, decision));
        }

        return Task.CompletedTask;
    }
}
