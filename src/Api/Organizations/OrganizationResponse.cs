using System.ComponentModel;
using System.Globalization;
using Api.Scalekit;

namespace Api.Organizations;

/// <summary>An organization as this API returns it. Absent or empty upstream values are null.</summary>
/// <remarks>Immutable once mapped, so the organization cache hands out the same instance instead of copies.</remarks>
[ImmutableObject(true)]
public sealed record OrganizationResponse(
    string Id,
    string? DisplayName,
    string? ExternalId,
    IReadOnlyDictionary<string, string>? Metadata,
    string? RegionCode,
    string? Slug,
    string? LogoUrl,
    OrganizationSettingsResponse Settings,
    DateTimeOffset? CreateTime,
    DateTimeOffset? UpdateTime);

public sealed record OrganizationSettingsResponse(IReadOnlyList<FeatureResponse> Features);

public sealed record FeatureResponse(string Name, bool Enabled);

public static class OrganizationMapping
{
    // Refit answers a 2xx with an empty body of known length ("Content-Length: 0") with null rather than a JSON error:
    // every envelope may be null, and is then Scalekit breaking its contract, like any other unreadable body.
    public static OrganizationResponse ToResponse(this ScalekitOrganizationEnvelope? envelope) => (envelope?.Organization).ToResponse();

    // An answer about another organization than the one asked for (a misrouted or mixed-up answer) is refused: shown,
    // it would hand one tenant's organization to a caller authorized for another, cached under the wrong id, or merged
    // into the metadata written back.
    public static OrganizationResponse ToResponseFor(this ScalekitOrganizationEnvelope? envelope, string id) =>
        envelope.ToResponse() is var organization && string.Equals(organization.Id, id, StringComparison.Ordinal)
            ? organization
            : throw new ScalekitContractException("The answer is about another organization than the one asked for.");

    /// <param name="pageSize">The page size Scalekit was asked for: a longer page is outside its contract, and mapped
    /// it would be passed on many times larger than the answer (a 4 MiB page of bare ids answered 36 MB).</param>
    /// <param name="pageToken">The page token Scalekit was asked with: a next page that is this same page would keep a
    /// caller that pages until <c>nextPageToken</c> is null asking for it forever.</param>
    public static OrganizationListResponse ToResponse(this ScalekitOrganizationList? list, int pageSize, string? pageToken) => list switch
    {
        null => throw new ScalekitContractException("The organization list body is empty."),
        { Organizations.Count: var count } when count > pageSize =>
            throw new ScalekitContractException("The organization list holds more organizations than the page size asked for."),
        { NextPageToken: { Length: > 0 } next } when next == pageToken =>
            throw new ScalekitContractException("The organization list's next page is the page asked for."),
        _ => new(
            [.. (list.Organizations ?? []).Select(organization => organization.ToResponse())],
            NullIfEmpty(list.NextPageToken),
            NullIfEmpty(list.PrevPageToken),
            // proto3 leaves a zero out.
            list.TotalSize ?? 0),
    };

    public static PortalLinkResponse ToResponse(this ScalekitPortalLinkEnvelope? envelope)
    {
        var link = envelope?.Link;
        // The caller hands the location to a browser: only an https page, never javascript:, data: or a plain-http one.
        if (string.IsNullOrEmpty(link?.Id) || !Uri.TryCreate(link.Location, UriKind.Absolute, out var location) || location.Scheme != Uri.UriSchemeHttps)
        {
            throw new ScalekitContractException("The portal link body has no link id or https location.");
        }

        return new PortalLinkResponse(link.Id, link.Location!, ParseTimestamp(link.ExpireTime));
    }

    public static OrganizationResponse ToResponse(this ScalekitOrganization? organization)
    {
        if (organization is null || string.IsNullOrEmpty(organization.Id))
        {
            throw new ScalekitContractException("The organization body has no organization id.");
        }

        return new OrganizationResponse(
            organization.Id,
            NullIfEmpty(organization.DisplayName),
            NullIfEmpty(organization.ExternalId),
            MetadataOf(organization),
            NullIfEmpty(organization.RegionCode),
            NullIfEmpty(organization.Slug),
            NullIfEmpty(organization.LogoUrl),
            new OrganizationSettingsResponse(
                // A null entry says no more than a nameless one: neither names a feature to show.
                organization.Settings?.Features?
                    .Where(feature => !string.IsNullOrEmpty(feature?.Name))
                    .Select(feature => new FeatureResponse(feature.Name!, feature.Enabled ?? false))
                    .ToArray() ?? []),
            ParseTimestamp(organization.CreateTime),
            ParseTimestamp(organization.UpdateTime));
    }

    // A proto3 string map has no null values: a pair answered with one has no value to show, and merged into a metadata
    // patch it would be written back as a null that Scalekit refuses, failing a patch that never named that key.
    private static IReadOnlyDictionary<string, string>? MetadataOf(ScalekitOrganization organization) => organization.Metadata switch
    {
        null or { Count: 0 } => null,
        var metadata when !metadata.ContainsValue(null!) => metadata,
        var metadata => metadata.Where(pair => pair.Value is not null).ToDictionary(StringComparer.Ordinal) is { Count: > 0 } kept ? kept : null,
    };

    /// <summary>RFC 3339 with 0-9 fractional digits (Scalekit sends nanoseconds; .NET keeps 7).</summary>
    public static DateTimeOffset? ParseTimestamp(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value.Trim();
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : null;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
