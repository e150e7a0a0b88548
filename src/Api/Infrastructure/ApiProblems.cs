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

    public static ProblemDetails Forbidden(string detail, string reason) => new()
    {
        Status = StatusCodes.Status403Forbidden,
        Title = "Forbidden",
        Detail = detail,
        Extensions = { ["reason"] = reason },
    };

    public static ProblemDetails Create(int status, string title, string detail) => new()
    {
        Status = status,
        Title = title,
        Detail = detail,
    };
}
