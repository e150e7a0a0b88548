using Api.Auth;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Api.Organizations;

public static class OrganizationsEndpoints
{
    public static RouteGroupBuilder MapOrganizations(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/organizations")
            .WithTags("Organizations")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        group.MapPost("/", CreateOrganization)
            .RequireAuthorization(Policies.CreateOrganization)
            .Validate<RouteHandlerBuilder, CreateOrganizationRequest>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithName("CreateOrganization")
            .WithSummary("Create an organization");

        group.MapGet("/{id}", GetOrganization)
            .RequireAuthorization(Policies.ReadOrganization)
            .WithName("GetOrganization")
            .WithSummary("Get an organization by id");

        return group;
    }

    public static async Task<Created<OrganizationResponse>> CreateOrganization(
        CreateOrganizationRequest request, IScalekitApi scalekit, CancellationToken cancellationToken)
    {
        var created = (await scalekit.CreateOrganizationAsync(request.ToWire(), cancellationToken)).ToResponse();
        return TypedResults.Created($"/organizations/{Uri.EscapeDataString(created.Id)}", created);
    }

    public static async Task<Results<Ok<OrganizationResponse>, ProblemHttpResult>> GetOrganization(
        string id, OrganizationCache organizations, CancellationToken cancellationToken)
    {
        // An id Scalekit could never have issued is not worth a round trip.
        if (!OrganizationId.IsWellFormed(id))
        {
            return TypedResults.Problem(ApiProblems.OrganizationNotFound());
        }

        return TypedResults.Ok(await organizations.GetAsync(id, cancellationToken));
    }
}
