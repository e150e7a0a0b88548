using Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;

namespace Api.Auth;

/// <summary>The fallback policy's requirement: an application route that names no policy is denied to everyone.</summary>
public sealed class UnlabelledEndpointRequirement : IAuthorizationRequirement;

/// <summary>
/// Denies every <see cref="RouteEndpoint"/> that reached the fallback. Requests that matched no route, and the
/// framework's own 405 rejection endpoint, pass so they get their natural 404/405 problem.
/// </summary>
internal sealed class UnlabelledEndpointHandler : AuthorizationHandler<UnlabelledEndpointRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, UnlabelledEndpointRequirement requirement)
    {
        if ((context.Resource as HttpContext)?.GetEndpoint() is RouteEndpoint)
        {
            context.Fail(new AuthorizationFailureReason(this, ProblemReasons.NoPolicy.Code));
        }
        else
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
