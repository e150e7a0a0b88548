using Microsoft.AspNetCore.Authorization;

namespace Api.Auth;

/// <summary>Names of the authorization policies; each has a rule under <c>Authorization:Policies:{name}</c>.</summary>
public static class Policies
{
    public const string CreateOrganization = "CreateOrganization";
    public const string ReadOrganization = "ReadOrganization";
    public const string ReadCurrentOrganization = "ReadCurrentOrganization";
    public const string ListOrganizations = "ListOrganizations";
    public const string ReadOrganizationByExternalId = "ReadOrganizationByExternalId";
    public const string UpdateOrganization = "UpdateOrganization";
    public const string UpdateOrganizationSettings = "UpdateOrganizationSettings";
    public const string DeleteOrganization = "DeleteOrganization";
    public const string CreatePortalLink = "CreatePortalLink";

    /// <summary>
    /// The named policies in an endpoint's metadata, in order (all of them apply). The audit and the OpenAPI document
    /// name the last, the one declared closest to the endpoint; every endpoint here declares exactly one.
    /// </summary>
    public static IEnumerable<string> In(IEnumerable<object> endpointMetadata) =>
        endpointMetadata.OfType<IAuthorizeData>().Select(data => data.Policy).Where(policy => !string.IsNullOrEmpty(policy))!;
}
