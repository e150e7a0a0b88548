using Scalekit.Emulator.Errors;

namespace Scalekit.Emulator.OAuth;

/// <summary>Every <c>/api/v1/*</c> call needs a live management token, as on Scalekit.</summary>
internal sealed class ManagementTokenFilter(ManagementTokens tokens) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var authorization = context.HttpContext.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return ScalekitError.Unauthenticated("missing bearer token");
        }

        if (!tokens.IsValid(authorization["Bearer ".Length..].Trim()))
        {
            return ScalekitError.Unauthenticated("invalid or expired token");
        }

        return await next(context);
    }
}
