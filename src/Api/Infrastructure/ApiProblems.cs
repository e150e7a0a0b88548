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

    public static ProblemDetails Forbidden(string detail, ProblemReason reason) => Create(reason, "Forbidden", detail);

    public static ProblemDetails Create(int status, string title, string detail) =>
        new() { Status = status, Title = title, Detail = detail };

    /// <summary>A problem with a <c>reason</c> clients can branch on, at the status that reason comes with (<see cref="ProblemReasons"/>).</summary>
    public static ProblemDetails Create(ProblemReason reason, string title, string detail)
    {
        var problem = Create(reason.Status, title, detail);
        problem.Extensions["reason"] = reason.Code;
        return problem;
    }
}
