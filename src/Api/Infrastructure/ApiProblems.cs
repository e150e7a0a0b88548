using Microsoft.AspNetCore.Mvc;

namespace Api.Infrastructure;

/// <summary>The problems this API answers with, built in one place so equal situations give equal bodies.</summary>
public static class ApiProblems
{
    public static ProblemDetails OrganizationNotFound() => new()
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Not Found",
        Detail = "The organization was not found.",
    };

    public static ProblemDetails Conflict() =>
        Create(StatusCodes.Status409Conflict, "Conflict", "An organization with these values already exists (for example the same externalId).");

    public static ProblemDetails Forbidden(string detail, string reason) =>
        Create(StatusCodes.Status403Forbidden, "Forbidden", detail, reason);

    /// <param name="reason">A short, stable code clients can branch on (<c>invalid_signature</c>, <c>rate_limited</c>,
    /// ...), sent as the <c>reason</c> member; none when null.</param>
    public static ProblemDetails Create(int status, string title, string detail, string? reason = null)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (reason is not null)
        {
            problem.Extensions["reason"] = reason;
        }

        return problem;
    }
}
