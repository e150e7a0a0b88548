using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using Api.Scalekit;
using FluentValidation;

namespace Api.Organizations;

/// <summary>
/// Body of <c>PATCH /organizations/{id}</c>, a JSON Merge Patch (RFC 7396) of the organization: a field left out is
/// unchanged, a field set to null is cleared, and <c>metadata</c> is merged key by key (a null value removes that key;
/// <c>"metadata": null</c> removes them all). Each setter records that its field was sent, so "absent" and "null"
/// stay apart while the type keeps plain properties for OpenAPI. (A class, not a record: <c>with</c> would share the set.)
/// </summary>
public sealed class UpdateOrganizationRequest
{
    private readonly HashSet<string> _sent = new(StringComparer.Ordinal);

    public string? DisplayName { get; init { field = value; Sent(); } }

    public string? ExternalId { get; init { field = value; Sent(); } }

    public Dictionary<string, string?>? Metadata { get; init { field = value; Sent(); } }

    public string? Slug { get; init { field = value; Sent(); } }

    public string? LogoUrl { get; init { field = value; Sent(); } }

    /// <summary>Accepted only to be refused: an organization's region cannot change.</summary>
    public string? RegionCode { get; init { field = value; Sent(); } }

    public bool Has(string property) => _sent.Contains(property);

    [JsonIgnore]
    public bool ChangesSomething => _sent.Count > 0;

    /// <summary>Merging needs the organization's current metadata: Scalekit replaces the whole map it is sent.</summary>
    [JsonIgnore]
    public bool MergesMetadata => Metadata is not null;

    /// <summary>
    /// The patch replaces Scalekit's metadata map (a merge or a clear), so it must not interleave with another
    /// metadata change to the same organization (<see cref="IOrganizationLocks"/>).
    /// </summary>
    [JsonIgnore]
    public bool WritesMetadata => Has(nameof(Metadata));

    /// <summary>Only the fields that were sent; a cleared optional string goes to Scalekit as "".</summary>
    public ScalekitUpdateOrganization ToWire(IReadOnlyDictionary<string, string>? currentMetadata) => new()
    {
        DisplayName = Has(nameof(DisplayName)) ? DisplayName?.Trim() : null,
        ExternalId = Has(nameof(ExternalId)) ? ExternalId ?? "" : null,
        Metadata = Has(nameof(Metadata)) ? MergeMetadata(currentMetadata, Metadata) : null,
        Slug = Has(nameof(Slug)) ? Slug ?? "" : null,
        LogoUrl = Has(nameof(LogoUrl)) ? LogoUrl ?? "" : null,
    };

    /// <summary>RFC 7396 on a string map: null patch = empty map; otherwise set the given keys, drop the null ones.</summary>
    public static Dictionary<string, string> MergeMetadata(IReadOnlyDictionary<string, string>? current, IReadOnlyDictionary<string, string?>? patch)
    {
        if (patch is null)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        var merged = new Dictionary<string, string>(current ?? new Dictionary<string, string>(), StringComparer.Ordinal);

        foreach (var (key, value) in patch)
        {
            if (value is null)
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value;
            }
        }

        return merged;
    }

    private void Sent([CallerMemberName] string property = "") => _sent.Add(property);
}

/// <summary>The create limits for every field sent; display name and region cannot be cleared or changed.</summary>
public sealed class UpdateOrganizationRequestValidator : AbstractValidator<UpdateOrganizationRequest>
{
    public UpdateOrganizationRequestValidator()
    {
        RuleFor(r => r.ChangesSomething).Equal(true).OverridePropertyName("body")
            .WithMessage("The patch names no field to change (displayName, externalId, metadata, slug, logoUrl).");
        RuleFor(r => r.DisplayName).NotNull().WithMessage("displayName cannot be cleared.").ValidDisplayName()
            .When(r => r.Has(nameof(UpdateOrganizationRequest.DisplayName)));
        RuleFor(r => r.ExternalId).ValidExternalId();
        RuleFor(r => r.Metadata).ValidMetadataPatch();
        RuleFor(r => r.Slug).ValidSlug();
        RuleFor(r => r.LogoUrl).ValidLogoUrl();
        RuleFor(r => r.RegionCode).Must(_ => false).WithMessage("regionCode cannot be changed once the organization exists.")
            .When(r => r.Has(nameof(UpdateOrganizationRequest.RegionCode)));
    }
}
