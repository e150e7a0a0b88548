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
