using Api.Scalekit;
using FluentValidation;

namespace Api.Organizations;

/// <summary>Body of <c>PATCH /organizations/{id}/settings</c>: the features to switch; features not named keep their state.</summary>
public sealed record UpdateOrganizationSettingsRequest(List<FeatureSettingRequest>? Features)
{
    public ScalekitOrganizationSettings ToWire() => new()
    {
        Features = [.. Features!.Select(feature => new ScalekitFeature { Name = feature.Name, Enabled = feature.Enabled!.Value })],
    };
}

public sealed record FeatureSettingRequest(string? Name, bool? Enabled);

public sealed class UpdateOrganizationSettingsRequestValidator : AbstractValidator<UpdateOrganizationSettingsRequest>
{
    public const int MaxFeatures = 20;

    public UpdateOrganizationSettingsRequestValidator()
    {
        RuleFor(r => r.Features).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("features needs at least one {\"name\", \"enabled\"}.")
            .Must(features => features!.Count <= MaxFeatures).WithMessage($"features allows at most {MaxFeatures} entries.")
            .Must(features => NamesAreUnique(features!)).WithMessage("features names each feature once.");
        RuleForEach(r => r.Features).NotNull().WithMessage("features entries must be objects.").ChildRules(feature =>
        {
            feature.RuleFor(f => f.Name).ValidFeatureName();
            feature.RuleFor(f => f.Enabled).NotNull().WithMessage("enabled is required (true or false).");
        });
    }

    private static bool NamesAreUnique(List<FeatureSettingRequest> features)
    {
        var names = features.Select(feature => feature?.Name).OfType<string>().ToList();
        // "SSO" and "sso" would be two settings of what a reader takes for one feature.
        return names.Distinct(StringComparer.OrdinalIgnoreCase).Count() == names.Count;
    }
}
