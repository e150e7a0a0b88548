using Api.Scalekit;
using FluentValidation;

namespace Api.Organizations;

/// <summary>Body of <c>POST /organizations</c>. Unknown and server-owned fields are ignored, never forwarded.</summary>
public sealed record CreateOrganizationRequest(
    string? DisplayName,
    string? ExternalId = null,
    Dictionary<string, string>? Metadata = null,
    string? Slug = null,
    string? LogoUrl = null,
    string? RegionCode = null)
{
    public ScalekitCreateOrganization ToWire() => new()
    {
        DisplayName = DisplayName!.Trim(),
        ExternalId = ExternalId,
        Metadata = Metadata,
        Slug = Slug,
        LogoUrl = LogoUrl,
        RegionCode = RegionCode,
    };

    /// <summary>How far Scalekit's clock may differ from this API's when comparing a creation time with attempts.</summary>
    public static readonly TimeSpan ClockTolerance = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether <paramref name="existing"/>, found by this request's externalId, can be what an earlier attempt of this
    /// request created: Scalekit created it while those attempts ran (<paramref name="earlierAttempts"/>, within
    /// <see cref="ClockTolerance"/>), and every field the request sets has the value it sends. Anything else was
    /// created under someone else's request and is not this caller's to be shown: matching values alone would hand
    /// any organization whose name and externalId are known to a caller who may only create.
    /// </summary>
    public bool WouldHaveCreated(ScalekitOrganization existing, (DateTimeOffset From, DateTimeOffset Until)? earlierAttempts)
    {
        if (earlierAttempts is not var (from, until)
            || OrganizationMapping.ParseTimestamp(existing.CreateTime) is not { } created
            || created < from - ClockTolerance
            || created > until + ClockTolerance)
        {
            return false;
        }

        var wire = ToWire();
        return existing.DisplayName == wire.DisplayName
            && existing.ExternalId == wire.ExternalId
            && (wire.Slug is null || existing.Slug == wire.Slug)
            && (wire.LogoUrl is null || existing.LogoUrl == wire.LogoUrl)
            && (wire.RegionCode is null || string.Equals(existing.RegionCode, wire.RegionCode, StringComparison.OrdinalIgnoreCase))
            && (wire.Metadata is null or { Count: 0 }
                || (existing.Metadata is { } metadata && metadata.Count == wire.Metadata.Count
                    && wire.Metadata.All(pair => metadata.TryGetValue(pair.Key, out var value) && value == pair.Value)));
    }
}

/// <summary>Scalekit's own input limits, checked before any upstream call.</summary>
public sealed class CreateOrganizationRequestValidator : AbstractValidator<CreateOrganizationRequest>
{
    public CreateOrganizationRequestValidator()
    {
        RuleFor(r => r.DisplayName).NotNull().WithMessage("displayName is required.").ValidDisplayName();
        RuleFor(r => r.ExternalId).ValidExternalId();
        RuleFor(r => r.Metadata).ValidMetadata();
        RuleFor(r => r.Slug).ValidSlug();
        RuleFor(r => r.LogoUrl).ValidLogoUrl();
        RuleFor(r => r.RegionCode).ValidRegionCode();
    }
}
