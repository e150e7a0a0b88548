using System.Net;
using System.Security.Claims;
using Api.Auth;
using Api.Idempotency;
using Api.Infrastructure;
using Api.Scalekit;
using FluentValidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Refit;

namespace Api.Organizations;

public static class OrganizationsEndpoints
{
    private const string MergePatchJson = "application/merge-patch+json";

    // RFC 9110 §9.1: what answers GET answers HEAD, with the same status and headers and no body.
    private static readonly string[] Reads = [HttpMethods.Get, HttpMethods.Head];

    /// <summary>
    /// The validators of the bodies and queries <see cref="MapOrganizations"/> validates, named one by one: an
    /// assembly scan would load every type the API has (and the Redis client with them) to find these five.
    /// </summary>
    public static IServiceCollection AddOrganizationValidators(this IServiceCollection services) => services
        .AddSingleton<IValidator<CreateOrganizationRequest>, CreateOrganizationRequestValidator>()
        .AddSingleton<IValidator<ListOrganizationsQuery>, ListOrganizationsQueryValidator>()
        .AddSingleton<IValidator<UpdateOrganizationRequest>, UpdateOrganizationRequestValidator>()
        .AddSingleton<IValidator<UpdateOrganizationSettingsRequest>, UpdateOrganizationSettingsRequestValidator>()
        .AddSingleton<IValidator<PortalLinkRequest>, PortalLinkRequestValidator>();

    public static RouteGroupBuilder MapOrganizations(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/organizations")
            .WithTags("Organizations")
            // Any 400 may name fields: the API's validators do, and so does Scalekit refusing a value (UpstreamValidation).
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            // The body rules run on every request that carries a body, a GET's or a DELETE's too (RequestBodyRules).
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            // A failure nothing expected (a defect) is still Problem Details, from the exception handler.
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status501NotImplemented)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout)
            .RequireRateLimiting(RateLimitPolicies.PerCaller)
            .WithoutTrailingSlash();                // the list and create routes are "/organizations", not "/organizations/"

        group.MapPost("/", CreateOrganization)
            .RequireAuthorization(Policies.CreateOrganization)
            .RecordingHangUps()
            .RefusingEntityTagPreconditions()   // If-Match naming an ETag cannot hold: 412, before any key or call
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ValidateJsonBody<CreateOrganizationRequest>()
            .WithIdempotency<CreateOrganizationRequest>()    // after validation: an invalid body claims no key
            .WithName("CreateOrganization")
            .WithSummary("Create an organization");

        group.MapMethods("/", Reads, ListOrganizations)
            .RequireAuthorization(Policies.ListOrganizations)
            .Validate<ListOrganizationsQuery>()
            .WithName("ListOrganizations")
            .WithSummary("List organizations, a page at a time");

        group.MapMethods("/current", Reads, GetCurrentOrganization)
            .RequireAuthorization(Policies.ReadCurrentOrganization)
            .ActsOnCallersOrganization()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("GetCurrentOrganization")
            .WithSummary("Get the organization of the token's oid");

        group.MapMethods("/external/{externalId}", Reads, GetOrganizationByExternalId)
            .RequireAuthorization(Policies.ReadOrganizationByExternalId)
            .ActsOnOrganizationFoundByHandler()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("GetOrganizationByExternalId")
            .WithSummary("Get an organization by its external id");

        group.MapMethods("/{id}", Reads, GetOrganization)
            .RequireAuthorization(Policies.ReadOrganization)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("GetOrganization")
            .WithSummary("Get an organization by id");

        group.MapPatch("/{id}", UpdateOrganization)
            .RequireAuthorization(Policies.UpdateOrganization)
            .RecordingHangUps()
            .RefusingEntityTagPreconditions()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .Accepts<UpdateOrganizationRequest>(MergePatchJson, "application/json")
            .ValidateJsonBody<UpdateOrganizationRequest>()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("UpdateOrganization")
            .WithSummary("Change some fields of an organization (JSON Merge Patch)");

        group.MapPatch("/{id}/settings", UpdateOrganizationSettings)
            .RequireAuthorization(Policies.UpdateOrganizationSettings)
            .RecordingHangUps()
            .RefusingEntityTagPreconditions()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ValidateJsonBody<UpdateOrganizationSettingsRequest>()
            .WithName("UpdateOrganizationSettings")
            .WithSummary("Turn an organization's features on or off");

        group.MapDelete("/{id}", DeleteOrganization)
            .RequireAuthorization(Policies.DeleteOrganization)
            .RecordingHangUps()
            .RefusingEntityTagPreconditions()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithName("DeleteOrganization")
            .WithSummary("Delete an organization");

        group.MapPost("/{id}/portal-links", CreatePortalLink)
            .RequireAuthorization(Policies.CreatePortalLink)
            .RecordingHangUps()
            .RefusingEntityTagPreconditions()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ValidateJsonBody<PortalLinkRequest>()
            .WithName("CreatePortalLink")
            .WithSummary("Generate a one-time admin-portal link (SSO, directory sync setup)");

        return group;
    }

    public static async Task<Results<Created<OrganizationResponse>, ProblemHttpResult>> CreateOrganization(
        CreateOrganizationRequest request, IdempotentRetry retry, IScalekitApi scalekit, ShutdownDeadline shutdown)
    {
        // Not the request's cancellation: a create runs to its end even when the caller hangs up (the resilience
        // pipeline's total timeout bounds it), so its outcome is known and a retry with the same key replays it. Were
        // it cancelled, the outcome would be unknown, and a caller could make it so at will. Only the host's shutdown
        // deadline ends it early; its key is then kept for the retry to reconcile.
        var cancellationToken = shutdown.Token;

        // The earlier attempt with this Idempotency-Key may have created the organization without telling us:
        // its externalId finds it, so a retry never creates a second one. An id that cannot travel as a path
        // segment ("." or "..") is never looked up by path: the URL would carry the management token elsewhere.
        var reconcile = retry.PreviousOutcomeUnknown && request.ExternalId is { } externalId && ExternalIds.IsPathSegment(externalId);
        var organization = reconcile ? await FindByExternalIdAsync(scalekit, request.ExternalId!, cancellationToken) : null;
        if (organization?.Organization is { } found && !request.WouldHaveCreated(found, retry.EarlierAttempts))
        {
            // Another organization had this externalId already: the earlier attempt met the conflict a first create
            // meets, and that organization is not this caller's to be shown.
            return TypedResults.Problem(ApiProblems.Conflict());
        }

        try
        {
            organization ??= await scalekit.CreateOrganizationAsync(request.ToWire(), cancellationToken);
        }
        catch (ApiException conflict) when (reconcile && conflict.StatusCode == HttpStatusCode.Conflict)
        {
            // That earlier attempt landed while we looked: the conflict is with our own organization.
            organization = await FindByExternalIdAsync(scalekit, request.ExternalId!, cancellationToken);
            if (organization?.Organization is not { } landed || !request.WouldHaveCreated(landed, retry.EarlierAttempts))
            {
                throw;
            }
        }

        var created = organization.ToResponse();
        return TypedResults.Created($"/organizations/{Uri.EscapeDataString(created.Id)}", created);
    }

    public static async Task<Ok<OrganizationListResponse>> ListOrganizations(
        [AsParameters] ListOrganizationsQuery query, IScalekitApi scalekit, CancellationToken cancellationToken)
    {
        var page = await scalekit.ListOrganizationsAsync(
            query.EffectivePageSize, query.EffectivePageToken, query.EffectiveExternalId, cancellationToken);
        return TypedResults.Ok(page.ToResponse(query.EffectivePageSize, query.EffectivePageToken));
    }

    public static async Task<Results<Ok<OrganizationResponse>, ProblemHttpResult>> GetCurrentOrganization(
        ClaimsPrincipal user, OrganizationCache organizations, CancellationToken cancellationToken) =>
        await GetOrganization(ScalekitClaims.OrganizationIdOf(user) ?? "", organizations, cancellationToken);

    public static async Task<Results<Ok<OrganizationResponse>, ProblemHttpResult>> GetOrganizationByExternalId(
        string externalId, HttpContext context, IAuthorizationService authorization, AccessAudit audit, IScalekitApi scalekit,
        CancellationToken cancellationToken)
    {
        externalId = ExternalIds.FromLastPathSegment(context, externalId);
        if (!ExternalIds.IsPathSegment(externalId))
        {
            return TypedResults.Problem(ApiProblems.OrganizationNotFound());
        }

        var organization = (await FindByExternalIdAsync(scalekit, externalId, cancellationToken))?.ToResponse();

        // Only now is the organization known: someone else's is the same 404 as a missing one, down to the headers,
        // so Scalekit's 404 is answered by this same line rather than by the exception handler.
        if (organization is null || !await authorization.MayActOnAsync(audit, context, organization.Id, Policies.ReadOrganizationByExternalId))
        {
            return TypedResults.Problem(ApiProblems.OrganizationNotFound());
        }

        return TypedResults.Ok(organization);
    }

    private static async Task<ScalekitOrganizationEnvelope?> FindByExternalIdAsync(IScalekitApi scalekit, string externalId, CancellationToken cancellationToken)
    {
        try
        {
            // An empty body is not "no such organization": only Scalekit's 404 says that.
            return await scalekit.GetOrganizationByExternalIdAsync(externalId, cancellationToken)
                ?? throw new ScalekitContractException("The organization body is empty.");
        }
        catch (ApiException notFound) when (notFound.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
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

    public static async Task<Results<Ok<OrganizationResponse>, ValidationProblem, ProblemHttpResult>> UpdateOrganization(
        string id, UpdateOrganizationRequest request, IScalekitApi scalekit, OrganizationCache organizations, IOrganizationLocks locks,
        ShutdownDeadline shutdown, CancellationToken cancellationToken)
    {
        if (!OrganizationId.IsWellFormed(id))
        {
            return TypedResults.Problem(ApiProblems.OrganizationNotFound());
        }

        // Scalekit replaces the whole metadata map, so a key-by-key merge starts from the current one, and Scalekit
        // offers no precondition. Metadata changes to one organization therefore take turns (across replicas with
        // Redis): otherwise two concurrent merges would both write back what they read, and one would be lost.
        await using var turn = request.WritesMetadata ? await locks.AcquireAsync(id, cancellationToken) : null;
        // Once it holds the turn, a metadata change runs to its end even when the caller hangs up (the resilience
        // pipeline's total timeout bounds it): cancelled, it would let the next change in while its own write may
        // still land at Scalekit, over the next one's. Only the host's shutdown deadline ends it early.
        var upstreamCancellation = turn is null ? cancellationToken : shutdown.Token;
        var currentMetadata = request.MergesMetadata
            ? (await scalekit.GetOrganizationAsync(id, upstreamCancellation)).ToResponseFor(id).Metadata
            : null;
        var change = request.ToWire(currentMetadata);
        if (change.Metadata is { Count: > OrganizationRules.MaxMetadataPairs })
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["metadata"] = [OrganizationRules.MetadataMessage] },
                detail: "After merging, the organization would have too many metadata pairs.");
        }

        ScalekitOrganizationEnvelope updated;
        try
        {
            updated = await scalekit.UpdateOrganizationAsync(id, change, upstreamCancellation);
        }
        catch (Exception stopped) when (turn is not null && shutdown.Token.IsCancellationRequested && UpstreamOutcome.MayHaveTakenEffect(stopped))
        {
            // The write may land after this process is gone: the next change must not get the turn before it can no longer.
            await turn.AbandonAsync();
            throw new MetadataChangeAbandonedException(id, stopped);
        }
        finally
        {
            // Also after a failure or timeout: Scalekit may have applied the change anyway.
            await organizations.InvalidateAsync(id, CancellationToken.None);
        }

        return TypedResults.Ok(updated.ToResponseFor(id));
    }

    public static async Task<Results<Ok<OrganizationResponse>, ProblemHttpResult>> UpdateOrganizationSettings(
        string id, UpdateOrganizationSettingsRequest request, IScalekitApi scalekit, OrganizationCache organizations, CancellationToken cancellationToken)
    {
        if (!OrganizationId.IsWellFormed(id))
        {
            return TypedResults.Problem(ApiProblems.OrganizationNotFound());
        }

        ScalekitOrganizationEnvelope updated;
        try
        {
            updated = await scalekit.UpdateOrganizationSettingsAsync(id, request.ToWire(), cancellationToken);
        }
        finally
        {
            await organizations.InvalidateAsync(id, CancellationToken.None);
        }

        return TypedResults.Ok(updated.ToResponseFor(id));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteOrganization(
        string id, IScalekitApi scalekit, OrganizationCache organizations, CancellationToken cancellationToken)
    {
        if (!OrganizationId.IsWellFormed(id))
        {
            return TypedResults.Problem(ApiProblems.OrganizationNotFound());
        }

        try
        {
            await scalekit.DeleteOrganizationAsync(id, cancellationToken);
        }
        finally
        {
            await organizations.InvalidateAsync(id, CancellationToken.None);
        }

        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<PortalLinkResponse>, ProblemHttpResult>> CreatePortalLink(
        string id, [FromBody(EmptyBodyBehavior = EmptyBodyBehavior.Allow)] PortalLinkRequest? request, HttpResponse response,
        IScalekitApi scalekit, CancellationToken cancellationToken)
    {
        if (!OrganizationId.IsWellFormed(id))
        {
            return TypedResults.Problem(ApiProblems.OrganizationNotFound());
        }

        var features = request?.Features is { Count: > 0 } requested ? requested.OfType<string>().Distinct(StringComparer.Ordinal).ToList() : null;
        var link = (await scalekit.GeneratePortalLinkAsync(id, features, cancellationToken)).ToResponse();
        // Whoever holds the location can configure the organization's SSO: keep it out of every cache.
        response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(link);
    }
}
