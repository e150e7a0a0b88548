using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace Api.Organizations;

/// <summary>Query of <c>GET /organizations</c>. Page tokens are Scalekit's, opaque and passed through; empty means absent.</summary>
// Settable properties rather than a positional record: the build-time request delegate generator emits
// typeof(string?) for nullable constructor parameters, which does not compile.
public sealed record ListOrganizationsQuery
{
    [FromQuery(Name = "pageSize")]
    public int? PageSize { get; init; }

    [FromQuery(Name = "pageToken")]
    public string? PageToken { get; init; }

    [FromQuery(Name = "externalId")]
    public string? ExternalId { get; init; }

    public const int DefaultPageSize = 10;
    public const int MaxPageSize = 100;
    public const int MaxPageTokenLength = 1024;

    public int EffectivePageSize => PageSize ?? DefaultPageSize;

    public string? EffectivePageToken => string.IsNullOrEmpty(PageToken) ? null : PageToken;

    public string? EffectiveExternalId => string.IsNullOrEmpty(ExternalId) ? null : ExternalId;
}

public sealed class ListOrganizationsQueryValidator : AbstractValidator<ListOrganizationsQuery>
{
    public ListOrganizationsQueryValidator()
    {
        RuleFor(q => q.PageSize).InclusiveBetween(1, ListOrganizationsQuery.MaxPageSize)
            .WithMessage($"pageSize must be between 1 and {ListOrganizationsQuery.MaxPageSize}.");
        RuleFor(q => q.PageToken)
            .Must(token => token is null || (token.Length <= ListOrganizationsQuery.MaxPageTokenLength && !token.Any(char.IsControl)))
            .WithMessage($"pageToken must be a token from a previous page (at most {ListOrganizationsQuery.MaxPageTokenLength} characters).");
        RuleFor(q => q.EffectiveExternalId).ValidExternalId().OverridePropertyName("externalId");
    }
}
