using System.Globalization;

namespace Scalekit.Emulator.Organizations;

// Scalekit's JSON bodies for organizations; the emulator serializes every property name snake_case.
internal sealed record OrganizationEnvelope(OrganizationWire Organization);

internal sealed record OrganizationListWire(
    IReadOnlyList<OrganizationWire> Organizations,
    string NextPageToken,
    string PrevPageToken,
    int TotalSize);

internal sealed record OrganizationWire(
    string Id,
    string DisplayName,
    string? ExternalId,
    IReadOnlyDictionary<string, string> Metadata,
    string RegionCode,
    string? Slug,
    string? LogoUrl,
    OrganizationSettingsWire Settings,
    string CreateTime,
    string UpdateTime)
{
    public static OrganizationWire From(EmulatedOrganization o) => new(
        o.Id,
        o.DisplayName,
        o.ExternalId,
        o.Metadata,
        o.RegionCode,
        o.Slug,
        o.LogoUrl,
        new OrganizationSettingsWire(o.Features),
        ScalekitTime.Format(o.CreateTime),
        ScalekitTime.Format(o.UpdateTime));
}

internal sealed record OrganizationSettingsWire(IReadOnlyList<OrganizationFeature> Features);

internal sealed record PortalLinkEnvelope(PortalLinkWire Link);

internal sealed record PortalLinkWire(string Id, string Location, string ExpireTime);

internal sealed record EmptyBody;

internal static class ScalekitTime
{
    /// <summary>RFC 3339 UTC with nine fractional digits, as Scalekit's protobuf timestamps are written.</summary>
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture) + "00Z";
}
