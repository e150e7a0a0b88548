using Refit;

namespace Api.Scalekit;

/// <summary>Scalekit's organizations REST API. Non-2xx answers surface as <see cref="ApiException"/>.</summary>
public interface IScalekitApi
{
    [Post("/api/v1/organizations")]
    Task<ScalekitOrganizationEnvelope> CreateOrganizationAsync([Body] ScalekitCreateOrganization body, CancellationToken cancellationToken);

    [Get("/api/v1/organizations/{id}")]
    Task<ScalekitOrganizationEnvelope> GetOrganizationAsync(string id, CancellationToken cancellationToken);

    [Get("/api/v1/organizations:external/{externalId}")]
    Task<ScalekitOrganizationEnvelope> GetOrganizationByExternalIdAsync(string externalId, CancellationToken cancellationToken);
}
