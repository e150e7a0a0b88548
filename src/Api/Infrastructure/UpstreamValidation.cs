using System.Text.Json;
using Api.Scalekit;
using Microsoft.AspNetCore.Mvc;

namespace Api.Infrastructure;

/// <summary>Turns Scalekit's 400 body into this API's validation problem: known fields only, camelCase, no raw echo.</summary>
internal static class UpstreamValidation
{
    // Descriptions are short human text; they are capped and cleaned of control characters before reaching a caller.
    private const int MaxDescriptionLength = 200;

    private static readonly Dictionary<string, string> Fields = new(StringComparer.Ordinal)
    {
        ["display_name"] = "displayName",
        ["external_id"] = "externalId",
        ["metadata"] = "metadata",
        ["slug"] = "slug",
        ["logo_url"] = "logoUrl",
        ["region_code"] = "regionCode",
        ["id"] = "id",
        ["page_size"] = "pageSize",
        ["page_token"] = "pageToken",
        ["features"] = "features",
    };

    private const string GenericDescription = "Scalekit rejected this value.";

    /// <param name="credential">The management token the rejected call carried: a description that echoes it is not passed on.</param>
    public static ProblemDetails ToProblem(string? body, string? credential = null)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var violation in Violations(body))
        {
            if (violation.Field is { } field && Fields.TryGetValue(field, out var name))
            {
                errors[name] = [Echoes(violation.Description, credential)
                    ? GenericDescription
                    : PrintableText.Clean(violation.Description, MaxDescriptionLength, trim: true) ?? GenericDescription];
            }
        }

        return new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "Bad Request",
            Detail = "Scalekit rejected the request as invalid.",
        };
    }

    // Judged before the description is capped, so a cut-off echo of a long token is caught too.
    private static bool Echoes(string? description, string? credential) =>
        !string.IsNullOrEmpty(credential) && description?.Contains(credential, StringComparison.Ordinal) == true;

    private static IEnumerable<ScalekitFieldViolation> Violations(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return [];
        }

        try
        {
            var status = JsonSerializer.Deserialize(body, ScalekitJsonContext.Default.ScalekitStatus);
            return status?.Details?.SelectMany(d => d.ValidationErrorInfo?.FieldViolations ?? []) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
