using Refit;

namespace Api.Scalekit;

/// <summary>Scalekit's organizations REST API (SCALEKIT.md section 3). Non-2xx answers surface as <see cref="ApiException"/>.</summary>
public interface IScalekitApi
{
    [Post("/api/v1/organizations")]
    Task<ScalekitOrganizationEnvelope> CreateOrganizationAsync([Body] ScalekitCreateOrganization body, CancellationToken cancellationToken);

    [Get("/api/v1/organizations/{id}")]
    Task<ScalekitOrganizationEnvelope> GetOrganizationAsync(string id, CancellationToken cancellationToken);

    // ":external" is a literal of Scalekit's gRPC-gateway path; the external id is one escaped segment.
    [Get("/api/v1/organizations:external/{externalId}")]
    Task<ScalekitOrganizationEnvelope> GetOrganizationByExternalIdAsync(string externalId, CancellationToken cancellationToken);

    [Get("/api/v1/organizations")]
    Task<ScalekitOrganizationList> ListOrganizationsAsync(
        [AliasAs("page_size")] int? pageSize,
        [AliasAs("page_token")] string? pageToken,
        [AliasAs("external_id")] string? externalId,
        CancellationToken cancellationToken);

    [Patch("/api/v1/organizations/{id}")]
    Task<ScalekitOrganizationEnvelope> UpdateOrganizationAsync(string id, [Body] ScalekitUpdateOrganization body, CancellationToken cancellationToken);

    [Delete("/api/v1/organizations/{id}")]
    Task DeleteOrganizationAsync(string id, CancellationToken cancellationToken);

    [Patch("/api/v1/organizations/{id}/settings")]
    Task<ScalekitOrganizationEnvelope> UpdateOrganizationSettingsAsync(string id, [Body] ScalekitOrganizationSettings body, CancellationToken cancellationToken);

    // No body; each requested feature is its own "features" query parameter.
    [Put("/api/v1/organizations/{id}/portal_links")]
    Task<ScalekitPortalLinkEnvelope> GeneratePortalLinkAsync(
        string id,
        [Query(CollectionFormat.Multi)] IReadOnlyList<string>? features,
        CancellationToken cancellationToken);
}
