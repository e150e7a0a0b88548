using System.Net;
using Api.Auth;
using Api.Idempotency;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.AspNetCore.Http.HttpResults;
using Refit;

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
            .WithIdempotency<CreateOrganizationRequest>()
            .WithName("CreateOrganization");

        group.MapGet("/{id}", GetOrganization)
            .RequireAuthorization(Policies.ReadOrganization)
            .WithName("GetOrganization");

        return group;
    }

    public static async Task<Created<OrganizationResponse>> CreateOrganization(
        CreateOrganizationRequest request, IdempotentRetry retry, IScalekitApi scalekit, CancellationToken cancellationToken)
    {
        // The earlier attempt with this Idempotency-Key may have created the organization without telling us:
        // its externalId finds it, so a retry never creates a second one.
        var reconcile = retry.PreviousOutcomeUnknown && request.ExternalId is not null;
        var organization = reconcile ? await FindByExternalIdAsync(scalekit, request.ExternalId!, cancellationToken) : null;
        try
        {
            organization ??= await scalekit.CreateOrganizationAsync(request.ToWire(), cancellationToken);
        }
        catch (ApiException conflict) when (reconcile && conflict.StatusCode == HttpStatusCode.Conflict)
        {
            // That earlier attempt landed while we looked: the conflict is with our own organization.
            organization = await FindByExternalIdAsync(scalekit, request.ExternalId!, cancellationToken);
            if (organization is null)
            {
                throw;
            }
        }

        var created = organization.ToResponse();
        return TypedResults.Created($"/organizations/{Uri.EscapeDataString(created.Id)}", created);
    }

    private static async Task<ScalekitOrganizationEnvelope?> FindByExternalIdAsync(IScalekitApi scalekit, string externalId, CancellationToken cancellationToken)
    {
        try
        {
            return await scalekit.GetOrganizationByExternalIdAsync(externalId, cancellationToken);
        }
        catch (ApiException notFound) when (notFound.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
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
