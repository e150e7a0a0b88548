namespace Api.Organizations;

/// <summary>One page of <c>GET /organizations</c>; a page token is null when there is no such page.</summary>
public sealed record OrganizationListResponse(
    IReadOnlyList<OrganizationResponse> Organizations,
    string? NextPageToken,
    string? PrevPageToken,
    int TotalSize);
