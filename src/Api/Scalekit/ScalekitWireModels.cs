using System.Text.Json.Serialization;

namespace Api.Scalekit;

// Scalekit's wire shapes (snake_case via ScalekitJsonContext). Unknown fields are ignored; empty values may be absent.

public sealed record ScalekitOrganization
{
    public string? Id { get; init; }
    public string? DisplayName { get; init; }
    public string? ExternalId { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public string? RegionCode { get; init; }
    public string? Slug { get; init; }
    public string? LogoUrl { get; init; }
    public ScalekitOrganizationSettings? Settings { get; init; }
    public string? CreateTime { get; init; }
    public string? UpdateTime { get; init; }
}

public sealed record ScalekitOrganizationSettings
{
    public List<ScalekitFeature>? Features { get; init; }
}

public sealed record ScalekitFeature
{
    public string? Name { get; init; }
    // Nullable because proto3 JSON may write a field's default as null: read, null is false, as absent is.
    public bool? Enabled { get; init; }
}

public sealed record ScalekitOrganizationEnvelope
{
    public ScalekitOrganization? Organization { get; init; }
}

/// <summary>Body of <c>POST /api/v1/organizations</c>: flat, only the fields a caller may set.</summary>
public sealed record ScalekitCreateOrganization
{
    public required string DisplayName { get; init; }
    public string? ExternalId { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public string? Slug { get; init; }
    public string? LogoUrl { get; init; }
    public string? RegionCode { get; init; }
}

/// <summary>Body of <c>PATCH /api/v1/organizations/{id}</c>: only the fields to change (null = not sent, "" = clear).</summary>
public sealed record ScalekitUpdateOrganization
{
    public string? DisplayName { get; init; }
    public string? ExternalId { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public string? Slug { get; init; }
    public string? LogoUrl { get; init; }
}

public sealed record ScalekitOrganizationList
{
    public List<ScalekitOrganization>? Organizations { get; init; }
    public string? NextPageToken { get; init; }
    public string? PrevPageToken { get; init; }
    public int? TotalSize { get; init; }
}

public sealed record ScalekitPortalLinkEnvelope
{
    public ScalekitPortalLink? Link { get; init; }
}

public sealed record ScalekitPortalLink
{
    public string? Id { get; init; }
    public string? Location { get; init; }
    public string? ExpireTime { get; init; }
}

public sealed record ScalekitTokenResponse
{
    public string? AccessToken { get; init; }
    public string? TokenType { get; init; }
    // A number of seconds, read as a double: 3599.5 or 1e12 is still a lifetime, and must not make the token unreadable.
    public double? ExpiresIn { get; init; }
}

/// <summary>google.rpc.Status, the body of every Scalekit error.</summary>
public sealed record ScalekitStatus
{
    public int? Code { get; init; }
    public string? Message { get; init; }
    public List<ScalekitErrorDetail>? Details { get; init; }
}

public sealed record ScalekitErrorDetail
{
    [JsonPropertyName("@type")]
    public string? Type { get; init; }
    public string? ErrorCode { get; init; }
    public ScalekitValidationErrorInfo? ValidationErrorInfo { get; init; }
}

public sealed record ScalekitValidationErrorInfo
{
    public List<ScalekitFieldViolation>? FieldViolations { get; init; }
}

public sealed record ScalekitFieldViolation
{
    public string? Field { get; init; }
    public string? Description { get; init; }
}
