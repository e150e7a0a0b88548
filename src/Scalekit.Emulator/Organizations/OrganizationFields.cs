using System.Text.Json;
using System.Text.RegularExpressions;
using Scalekit.Emulator.Errors;

namespace Scalekit.Emulator.Organizations;

/// <summary>
/// The writable fields of a create or update body. Null means "absent", so PATCH can change only what was sent;
/// a JSON null counts as absent too, as in proto3 JSON.
/// </summary>
internal sealed partial record OrganizationFields(
    string? DisplayName,
    string? ExternalId,
    Dictionary<string, string>? Metadata,
    string? RegionCode,
    string? Slug,
    string? LogoUrl)
{
    /// <summary>Reads the fields, ignoring unknown ones; a field of the wrong JSON type is a violation.</summary>
    public static OrganizationFields Read(JsonElement body, List<FieldViolation> violations)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            violations.Add(new FieldViolation("body", "must be a JSON object"));
            return new OrganizationFields(null, null, null, null, null, null);
        }

        return new OrganizationFields(
            ReadString(body, "display_name", violations),
            ReadString(body, "external_id", violations),
            ReadMetadata(body, violations),
            ReadString(body, "region_code", violations),
            ReadString(body, "slug", violations),
            ReadString(body, "logo_url", violations));
    }

    /// <summary>Scalekit's input limits. On create the display name is required.</summary>
    public void Validate(bool creating, List<FieldViolation> violations)
    {
        // Scalekit counts characters (code points), not UTF-16 units: an emoji is one.
        var nameLength = DisplayName?.EnumerateRunes().Count();
        if (creating ? nameLength is not (>= 1 and <= 200) : nameLength is < 1 or > 200)
        {
            violations.Add(new FieldViolation("display_name", "value length must be between 1 and 200 characters"));
        }

        if (Metadata is not null)
        {
            ValidateMetadata(Metadata, violations);
        }

        if (RegionCode is { Length: > 0 } and not ("US" or "EU"))
        {
            violations.Add(new FieldViolation("region_code", "value must be one of US, EU"));
        }

        if (Slug is { Length: > 0 } && (Slug.Length > 253 || !SlugPattern().IsMatch(Slug)))
        {
            violations.Add(new FieldViolation(
                "slug", "value must be at most 253 characters of lowercase letters, digits and hyphens in DNS label form"));
        }

        if (LogoUrl is { Length: > 0 }
            && (LogoUrl.Length > 1024
                || !LogoUrl.StartsWith("https://", StringComparison.Ordinal)
                || !Uri.TryCreate(LogoUrl, UriKind.Absolute, out _)))
        {
            violations.Add(new FieldViolation("logo_url", "value must be an https:// URL of at most 1024 characters"));
        }
    }

    private static void ValidateMetadata(Dictionary<string, string> metadata, List<FieldViolation> violations)
    {
        if (metadata.Count > 10)
        {
            violations.Add(new FieldViolation("metadata", "value must contain no more than 10 pairs"));
        }

        foreach (var (key, value) in metadata)
        {
            if (key.EnumerateRunes().Count() is < 3 or > 25)
            {
                violations.Add(new FieldViolation("metadata", $"key '{key}' must be between 3 and 25 characters long"));
            }

            if (value.EnumerateRunes().Count() is < 1 or > 256)
            {
                violations.Add(new FieldViolation("metadata", $"value of '{key}' must be between 1 and 256 characters long"));
            }
        }
    }

    private static string? ReadString(JsonElement body, string name, List<FieldViolation> violations)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            violations.Add(new FieldViolation(name, "must be a string"));
            return null;
        }

        return value.GetString();
    }

    private static Dictionary<string, string>? ReadMetadata(JsonElement body, List<FieldViolation> violations)
    {
        if (!body.TryGetProperty("metadata", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object
            || value.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
        {
            violations.Add(new FieldViolation("metadata", "must be an object of string values"));
            return null;
        }

        // A repeated key keeps its last value, as a JSON map does in proto3.
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in value.EnumerateObject())
        {
            metadata[pair.Name] = pair.Value.GetString()!;
        }

        return metadata;
    }

    // SCALEKIT.md's "lowercase DNS-label form": one label of lowercase letters, digits and inner hyphens, no dots (the
    // API's own rule, OrganizationRules.SlugRegex). \z, not $: $ would also match before a trailing newline.
    [GeneratedRegex(@"^[a-z0-9]([a-z0-9-]*[a-z0-9])?\z", RegexOptions.CultureInvariant)]
    private static partial Regex SlugPattern();
}
