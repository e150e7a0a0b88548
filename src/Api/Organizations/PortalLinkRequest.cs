using FluentValidation;

namespace Api.Organizations;

/// <summary>Optional body of <c>POST /organizations/{id}/portal-links</c>: which admin-portal features the link opens.</summary>
public sealed record PortalLinkRequest(List<string?>? Features = null);

public sealed class PortalLinkRequestValidator : AbstractValidator<PortalLinkRequest>
{
    // The features Scalekit's admin portal links accept.
    public static readonly IReadOnlyList<string> KnownFeatures = ["sso", "dir_sync"];

    public PortalLinkRequestValidator()
    {
        RuleForEach(r => r.Features).Must(feature => feature is not null && KnownFeatures.Contains(feature, StringComparer.Ordinal))
            .WithMessage($"features may contain only {string.Join(" and ", KnownFeatures.Select(f => $"\"{f}\""))}.");
    }
}

/// <summary>A one-time admin-portal link. Its location grants access: it is never cached or logged.</summary>
public sealed record PortalLinkResponse(string Id, string Location, DateTimeOffset? ExpireTime);
