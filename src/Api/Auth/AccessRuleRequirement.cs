using System.Security.Claims;
using Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;

namespace Api.Auth;

/// <summary>The requirement behind every named policy: the configured <see cref="AccessRule"/>.</summary>
public sealed class AccessRuleRequirement(string policy, AccessRule rule) : IAuthorizationRequirement
{
    public const string OrganizationRouteValue = "id";

    public string Policy { get; } = policy;

    public AccessRule Rule { get; } = rule;

    public AccessDecision Evaluate(ClaimsPrincipal user, OrganizationTarget target)
    {
        // Plain loop first: this runs on every request, and an allowed request should allocate nothing here.
        foreach (var alternative in Rule.AnyOf)
        {
            if (Evaluate(alternative, user, target).Allowed)
            {
                return AccessDecision.Allow;
            }
        }

        var decisions = Rule.AnyOf.Select(alternative => Evaluate(alternative, user, target)).ToList();

        // Report the failure closest to success: "you hold the grant but this is not your organization" becomes
        // a 404 that looks exactly like a real not-found, so callers cannot probe other tenants' ids.
        if (decisions.FirstOrDefault(d => d.Reason == AccessDenialReason.OrganizationMismatch) is { } mismatch)
        {
            return mismatch;
        }

        // Without an oid only the alternatives that need no organization can still pass: name their grants alone.
        if (decisions.Any(d => d.Reason == AccessDenialReason.OrganizationMissing))
        {
            return new AccessDecision(false, AccessDenialReason.OrganizationMissing,
                GrantsOf(decisions.Where(d => d.Reason != AccessDenialReason.OrganizationMissing)), []);
        }

        // A missing role also names the grants of the other alternatives: an M2M caller can hold those, never a role.
        var missingRole = decisions.FirstOrDefault(d => d.Reason == AccessDenialReason.MissingRole);
        return missingRole is not null
            ? missingRole with { MissingGrants = GrantsOf(decisions.Where(d => d.Reason == AccessDenialReason.MissingGrant)) }
            : new AccessDecision(false, AccessDenialReason.MissingGrant, GrantsOf(decisions), []);
    }

    private static string[] GrantsOf(IEnumerable<AccessDecision> decisions) =>
        decisions.SelectMany(d => d.MissingGrants).Distinct(StringComparer.Ordinal).ToArray();

    private static AccessDecision Evaluate(AccessAlternative alternative, ClaimsPrincipal user, OrganizationTarget target)
    {
        // No grant or role makes up for a missing oid: checked first, so none of them is named as what was missing.
        var callerOrganization = alternative.SameOrganization ? ScalekitClaims.OrganizationIdOf(user) : null;
        if (alternative.SameOrganization && callerOrganization is null)
        {
            return new AccessDecision(false, AccessDenialReason.OrganizationMissing, [], []);
        }

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

        // A pending target is checked again by the handler once it knows the organization.
        if (alternative.SameOrganization && !target.Pending && !string.Equals(callerOrganization, target.Id, StringComparison.Ordinal))
        {
            return new AccessDecision(false, AccessDenialReason.OrganizationMismatch, [], []);
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
    public string Code => Problem?.Code ?? Reason switch
    {
        AccessDenialReason.OrganizationMismatch => "org_mismatch",
        _ => "allowed",
    };

    /// <summary>The reason of the 403 this decision is answered with; none when it is not a 403 (another organization's is a 404).</summary>
    public ProblemReason? Problem => Reason switch
    {
        AccessDenialReason.MissingGrant => ProblemReasons.MissingGrant,
        AccessDenialReason.MissingRole => ProblemReasons.MissingRole,
        AccessDenialReason.OrganizationMissing => ProblemReasons.OidMissing,
        _ => null,
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

        var decision = requirement.Evaluate(context.User, OrganizationTarget.Of(context.Resource, context.User));
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
