using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Infrastructure;

/// <summary>
/// Conditional changes (RFC 9110 §13.1.1). This API issues no entity tags (Scalekit offers none, nor any precondition on
/// its writes), so an <c>If-Match</c> naming tags can never hold: the change is refused with 412 before anything runs,
/// instead of being applied over whatever the client meant to protect. <c>If-Match: *</c> ("if it exists") holds for an
/// organization that exists, and the change itself answers 404 for one that does not.
/// </summary>
public static class Preconditions
{
    public static RouteHandlerBuilder RefusingEntityTagPreconditions(this RouteHandlerBuilder builder) => builder
        .AddEndpointFilter(static (context, next) =>
            NamesEntityTags(context.HttpContext.Request.Headers.IfMatch) ? ValueTask.FromResult<object?>(Refusal()) : next(context))
        .ProducesProblem(StatusCodes.Status412PreconditionFailed);

    /// <summary>Whether an <c>If-Match</c> was sent that is more than "*" (an empty one sets no condition).</summary>
    private static bool NamesEntityTags(Microsoft.Extensions.Primitives.StringValues ifMatch)
    {
        foreach (var value in ifMatch)
        {
            if (!string.IsNullOrWhiteSpace(value) && value.Trim() != "*")
            {
                return true;
            }
        }

        return false;
    }

    private static ProblemHttpResult Refusal() => TypedResults.Problem(ApiProblems.Create(ProblemReasons.PreconditionUnsupported,
        "Precondition Failed",
        "This API issues no entity tags (ETag), so the If-Match condition cannot hold and nothing was changed. Send the request without If-Match, or with If-Match: *."));
}
