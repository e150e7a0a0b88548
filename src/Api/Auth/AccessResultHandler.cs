using Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Api.Auth;

/// <summary>
/// Writes authorization failures as Problem Details: 403 naming what is missing, or, for a caller who holds the
/// grant but asks about another organization, the very same 404 a missing organization gets. Every decision made
/// here is audited (a challenge is audited where it is written, in <see cref="BearerChallengeWriter"/>).
/// </summary>
internal sealed class AccessResultHandler(IProblemDetailsService problems, AccessAudit audit) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden)
        {
            if (authorizeResult.Succeeded)
            {
                audit.Allowed(context);
            }

            await _default.HandleAsync(next, context, policy, authorizeResult);
            // The rate limiter (next) refuses a caller already gone without setting any status, and the request was
            // logged 200, an answer nobody received.
            HangUps.RecordIfGone(context);
            return;
        }

        var denial = audit.Denied(context, authorizeResult.AuthorizationFailure);
        // The caller left while its token was checked (waiting on a shared JWKS refetch): nobody is there to answer.
        if (HangUps.RecordIfGone(context))
        {
            return;
        }

        if (denial?.Decision.Reason == AccessDenialReason.OrganizationMismatch)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await problems.WriteAsync(new() { HttpContext = context, ProblemDetails = ApiProblems.OrganizationNotFound() });
            return;
        }

        var (detail, grants) = Describe(denial?.Decision);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.Headers.WWWAuthenticate = grants.Count > 0
            ? $"Bearer error=\"insufficient_scope\", scope=\"{string.Join(' ', grants)}\""
            : "Bearer error=\"insufficient_scope\"";

        var problem = ApiProblems.Forbidden(detail, denial?.Decision.Problem ?? ProblemReasons.NoPolicy);
        if (grants.Count > 0)
        {
            problem.Extensions["requiredGrants"] = grants;
        }

        await problems.WriteAsync(new() { HttpContext = context, ProblemDetails = problem });
    }

    private static (string Detail, IReadOnlyList<string> Grants) Describe(AccessDecision? decision) => decision switch
    {
        { Reason: AccessDenialReason.MissingGrant } => (
            $"The access token lacks the grant (permission or scope) {string.Join(" or ", decision.MissingGrants.Select(g => $"'{g}'"))}.",
            decision.MissingGrants),
        { Reason: AccessDenialReason.MissingRole } => (
            $"The access token lacks the role {string.Join(" and ", decision.MissingRoles.Select(r => $"'{r}'"))}"
                + (decision.MissingGrants.Count > 0 ? $" (or the grant {string.Join(" or ", decision.MissingGrants.Select(g => $"'{g}'"))})." : "."),
            decision.MissingGrants),
        { Reason: AccessDenialReason.OrganizationMissing } => (
            decision.MissingGrants.Count > 0
                ? $"The access token carries no organization (oid) claim; without one, only the grant {string.Join(" or ", decision.MissingGrants.Select(g => $"'{g}'"))} allows this request."
                : "The access token carries no organization (oid) claim.",
            decision.MissingGrants),
        _ => ("No policy allows this request.", []),
    };
}
