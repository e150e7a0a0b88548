using Api.Auth;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Organizations;

public static class OrganizationsEndpoints
{
    public static RouteGroupBuilder MapOrganizations(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/organizations").WithTags("Organizations")
            .RequireRateLimiting(RateLimitPolicies.PerCaller);

        group.MapPost("/", CreateOrganization)
            .RequireAuthorization(Policies.CreateOrganization)
            .Validate<RouteHandlerBuilder, CreateOrganizationRequest>()
            .WithName("CreateOrganization");

        group.MapGet("/{id}", GetOrganization)
            .RequireAuthorization(Policies.ReadOrganization)
            .WithName("GetOrganization");

        return group;
    }

    public static async Task<Created<OrganizationResponse>> CreateOrganization(
        CreateOrganizationRequest request, IScalekitApi scalekit, CancellationToken cancellationToken)
    {
        var created = (await scalekit.CreateOrganizationAsync(request.ToWire(), cancellationToken)).ToResponse();
        return TypedResults.Created($"/organizations/{Uri.EscapeDataString(created.Id)}", created);
    }

    public static async Task<Results<Ok<OrganizationResponse>, ProblemHttpResult>> GetOrganization(
        string id, IScalekitApi scalekit, CancellationToken cancellationToken)
    {
        // An id Scalekit could never have issued is not worth a round trip.
        if (!OrganizationId.IsWellFormed(id))
        {
            return TypedResults.Problem(ApiProblems.OrganizationNotFound());
        }

        var organization = await scalekit.GetOrganizationAsync(id, cancellationToken);
        return TypedResults.Ok(organization.ToResponse());
    }
}
