using System.Globalization;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace Api.Organizations;

/// <summary>Query of <c>GET /organizations</c>. Page tokens are Scalekit's, opaque and passed through; empty means absent.</summary>
// Settable properties rather than a positional record: the build-time request delegate generator emits
// typeof(string?) for nullable constructor parameters, which does not compile.
public sealed record ListOrganizationsQuery
{
    /// <summary>
    /// As sent. Bound as text so that "ten" is named in the 400's <c>errors</c> like any other invalid field: the
    /// generated binder answers an unparsable number with a bare 400 that says nothing. The OpenAPI document still
    /// describes it as an integer (<see cref="Infrastructure.OpenApiSetup"/>).
    /// </summary>
    [FromQuery(Name = "pageSize")]
    public string? PageSize { get; init; }

    [FromQuery(Name = "pageToken")]
    public string? PageToken { get; init; }

    [FromQuery(Name = "externalId")]
    public string? ExternalId { get; init; }

    /// <summary>
    /// The request itself, for <see cref="GivenMoreThanOnce"/>: a parameter sent twice binds as both values joined
    /// with a comma ("acme,globex"), which is neither of them.
    /// </summary>
    public HttpRequest? Request { get; init; }

    /// <summary>Whether the query names <paramref name="parameter"/> more than once.</summary>
    public bool GivenMoreThanOnce(string parameter) => Request?.Query[parameter].Count > 1;

    public const int DefaultPageSize = 10;
    public const int MaxPageSize = 100;
    public const int MaxPageTokenLength = 1024;

    public int EffectivePageSize => TryParsePageSize(PageSize, out var size) && size is { } sent ? sent : DefaultPageSize;

    /// <summary>False when a page size was sent that is not a whole number; <paramref name="size"/> is null when none was (absent or empty).</summary>
    public static bool TryParsePageSize(string? raw, out int? size)
    {
        size = null;
        if (string.IsNullOrEmpty(raw))
        {
            return true;
        }

        // Digits only: NumberStyles.Integer would also take " 5", "5 " and "+5", which no client means to send.
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return false;
        }

        size = parsed;
        return true;
    }

    public string? EffectivePageToken => string.IsNullOrEmpty(PageToken) ? null : PageToken;

    public string? EffectiveExternalId => string.IsNullOrEmpty(ExternalId) ? null : ExternalId;
}

public sealed class ListOrganizationsQueryValidator : AbstractValidator<ListOrganizationsQuery>
{
    public ListOrganizationsQueryValidator()
    {
        // A repeated parameter is refused as such; its joined value would only draw a misleading message below.
        foreach (var parameter in new[] { "pageSize", "pageToken", "externalId" })
        {
            RuleFor(q => q.GivenMoreThanOnce(parameter)).Equal(false).OverridePropertyName(parameter)
                .WithMessage($"{parameter} was given more than once.");
        }

        RuleFor(q => q.PageSize)
            .Must(raw => ListOrganizationsQuery.TryParsePageSize(raw, out var size) && size is null or (>= 1 and <= ListOrganizationsQuery.MaxPageSize))
            .WithMessage($"pageSize must be a whole number between 1 and {ListOrganizationsQuery.MaxPageSize}.")
            .Unless(q => q.GivenMoreThanOnce("pageSize"));
        RuleFor(q => q.PageToken)
            .Must(token => token is null || (token.Length <= ListOrganizationsQuery.MaxPageTokenLength && !token.Any(char.IsControl)))
            .WithMessage($"pageToken must be a token from a previous page (at most {ListOrganizationsQuery.MaxPageTokenLength} characters).")
            .Unless(q => q.GivenMoreThanOnce("pageToken"));
        RuleFor(q => q.EffectiveExternalId).ValidExternalId().OverridePropertyName("externalId")
            .Unless(q => q.GivenMoreThanOnce("externalId"));
    }
}
