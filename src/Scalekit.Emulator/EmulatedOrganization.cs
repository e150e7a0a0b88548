namespace Scalekit.Emulator;

/// <summary>An organization as the emulator stores it (a snapshot: updates replace it).</summary>
public sealed record EmulatedOrganization(
    string Id,
    string DisplayName,
    string? ExternalId,
    IReadOnlyDictionary<string, string> Metadata,
    string RegionCode,
    string? Slug,
    string? LogoUrl,
    IReadOnlyList<OrganizationFeature> Features,
    DateTimeOffset CreateTime,
    DateTimeOffset UpdateTime);

/// <summary>One entry of an organization's <c>settings.features</c>, e.g. ("sso", true).</summary>
public sealed record OrganizationFeature(string Name, bool Enabled);
