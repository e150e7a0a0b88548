using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using FluentValidation;

namespace Api.Organizations;

/// <summary>Field rules shared by create and update (Scalekit's own limits, SCALEKIT.md section 3).</summary>
public static partial class OrganizationRules
{
    private const string Unprintable = "control characters or bidirectional formatting characters (U+202A-U+202E, U+2066-U+2069)";

    public static IRuleBuilderOptions<T, string?> ValidDisplayName<T>(this IRuleBuilder<T, string?> rule) =>
        // Control characters have no place in a name people read, and would travel into every UI and log that shows it.
        // Counted as Scalekit stores it: trimmed, in characters (code points), so an emoji is one, not two.
        rule.Must(value => value is null || (value.Trim().EnumerateRunes().Count() is >= 1 and <= 200 && !IsBlank(value) && IsPrintable(value)))
            .WithMessage($"displayName must be 1-200 characters, not blank, without {Unprintable}.");

    public static IRuleBuilderOptions<T, string?> ValidExternalId<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(value => value is null || ExternalIds.IsWellFormed(value))
            .WithMessage("externalId must be 1-255 characters without control characters.");

    public const int MaxSlugLength = 253;

    /// <summary>The slug rule, with <c>\z</c>: the OpenAPI document writes it with <c>$</c> (ECMA-262, no multiline).</summary>
    public const string SlugRegex = @"^[a-z0-9]([a-z0-9-]*[a-z0-9])?\z";

    public const int MaxLogoUrlLength = 1024;

    public static readonly IReadOnlyList<string> RegionCodes = ["US", "EU"];

    public static IRuleBuilderOptions<T, string?> ValidSlug<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(value => value is null || (value.Length <= MaxSlugLength && SlugPattern().IsMatch(value)))
            .WithMessage("slug must be at most 253 lowercase letters, digits and hyphens, not starting or ending with a hyphen.");

    public static IRuleBuilderOptions<T, string?> ValidLogoUrl<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(value => value is null
                || (value.Length <= MaxLogoUrlLength
                    && value.StartsWith("https://", StringComparison.Ordinal)
                    && Uri.TryCreate(value, UriKind.Absolute, out var uri)
                    && !string.IsNullOrEmpty(uri.Host)))
            .WithMessage("logoUrl must be an absolute https:// URL of at most 1024 characters.")
            // Every admin UI shows it: nothing that hides or breaks part of it, and no credentials for all to read.
            .Must(value => value is null || (IsPrintable(value) && !value.Any(char.IsWhiteSpace)))
            .WithMessage($"logoUrl must not contain whitespace, {Unprintable}.")
            .Must(value => value is null || !HasUserInfo(value))
            .WithMessage("logoUrl must not contain a user name or password (user:password@host).");

    public const int MaxMetadataPairs = 10;

    public const int MinMetadataKeyLength = 3;
    public const int MaxMetadataKeyLength = 25;
    public const int MaxMetadataValueLength = 256;

    public const string MetadataMessage = "metadata allows at most 10 pairs; keys 3-25 characters, values 1-256 characters.";

    private const string MetadataTextMessage = $"metadata keys and values must not contain {Unprintable}.";

    public static IRuleBuilderOptions<T, Dictionary<string, string>?> ValidMetadata<T>(this IRuleBuilder<T, Dictionary<string, string>?> rule) =>
        rule.Must(value => value is null || (value.Count <= MaxMetadataPairs && value.All(IsValidMetadataPair)))
            .WithMessage(MetadataMessage)
            .Must(value => value is null || value.All(IsPrintableMetadataPair))
            .WithMessage(MetadataTextMessage);

    /// <summary>A metadata merge patch: pairs with a value are set (and checked), pairs with null remove the key.</summary>
    public static IRuleBuilderOptions<T, Dictionary<string, string?>?> ValidMetadataPatch<T>(this IRuleBuilder<T, Dictionary<string, string?>?> rule) =>
        rule.Must(value => value is null
                || (value.Count(pair => pair.Value is not null) <= MaxMetadataPairs
                    && value.Where(pair => pair.Value is not null).All(pair => IsValidMetadataPair(new(pair.Key, pair.Value!)))))
            .WithMessage(MetadataMessage)
            // Removing a key is not checked: that is how a pair stored before these rules can be cleaned up.
            .Must(value => value is null || value.Where(pair => pair.Value is not null).All(pair => IsPrintableMetadataPair(new(pair.Key, pair.Value!))))
            .WithMessage(MetadataTextMessage);

    /// <summary>A feature name as in <c>settings.features[].name</c> ("sso", "dir_sync").</summary>
    public static IRuleBuilderOptions<T, string?> ValidFeatureName<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(value => value is not null && FeatureNamePattern().IsMatch(value))
            .WithMessage("name must be 1-64 lower-case letters, digits, '_' or '-', as Scalekit names its features (sso, dir_sync).");

    // In characters (code points), as Scalekit counts them, like displayName.
    private static bool IsValidMetadataPair(KeyValuePair<string, string> pair) =>
        pair.Key.EnumerateRunes().Count() is >= MinMetadataKeyLength and <= MaxMetadataKeyLength
        && pair.Value?.EnumerateRunes().Count() is >= 1 and <= MaxMetadataValueLength;

    // A null value is the length rule's to report.
    private static bool IsPrintableMetadataPair(KeyValuePair<string, string> pair) =>
        IsPrintable(pair.Key) && (pair.Value is null || IsPrintable(pair.Value));

    /// <summary>
    /// No control characters (forged log lines, terminal escapes) and no bidirectional embedding, override or isolate:
    /// "Trojan Source" text that an admin UI or a log would show in another order than it is. Other format characters,
    /// such as the zero-width joiner inside emoji, are fine.
    /// </summary>
    private static bool IsPrintable(string text) =>
        !text.Any(c => char.IsControl(c) || c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'));

    /// <summary>
    /// Whether <paramref name="text"/> has no character anyone could see: only whitespace, control characters, format
    /// characters (Unicode category Cf: zero-width space U+200B, word joiner U+2060, byte order mark U+FEFF, soft hyphen,
    /// the joiners ...) and the other code points Unicode says render as nothing (Default_Ignorable_Code_Point: the
    /// Hangul fillers, variation selectors, the combining grapheme joiner). A visible character with a joiner beside it
    /// (an emoji sequence, Devanagari with ZWJ/ZWNJ) is not blank.
    /// </summary>
    public static bool IsBlank(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (!Rune.IsWhiteSpace(rune)
                && Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.Format or UnicodeCategory.Control)
                && !IsIgnorableNonFormat(rune.Value))
            {
                return false;
            }
        }

        return true;
    }

    // The Default_Ignorable_Code_Point characters that are not Cf: the assigned ones, and the unassigned ones Unicode
    // reserves as default-ignorable (U+2065, U+FFF0-FFF8, the rest of U+E0000-E0FFF), which a renderer shows as nothing.
    private static bool IsIgnorableNonFormat(int codePoint) => codePoint is 0x034F or 0x115F or 0x1160 or 0x17B4 or 0x17B5
        or (>= 0x180B and <= 0x180D) or 0x180F or 0x2065 or 0x3164 or (>= 0xFE00 and <= 0xFE0F) or 0xFFA0
        or (>= 0xFFF0 and <= 0xFFF8) or (>= 0xE0000 and <= 0xE0FFF);

    // "https://user:pass@host/" puts credentials where every admin sees them, and "https://cdn.example@evil.example/"
    // disguises the host. A backslash ends the authority as a slash would (URL parsers treat them alike for https).
    private static bool HasUserInfo(string url)
    {
        if (!url.StartsWith("https://", StringComparison.Ordinal))
        {
            return false;
        }

        var authority = url.AsSpan("https://".Length);
        return (authority.IndexOfAny("/\\?#") is var end and >= 0 ? authority[..end] : authority).Contains('@');
    }

    public static IRuleBuilderOptions<T, string?> ValidRegionCode<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(code => code is null || RegionCodes.Contains(code, StringComparer.Ordinal)).WithMessage("regionCode must be \"US\" or \"EU\".");

    [GeneratedRegex(SlugRegex, RegexOptions.CultureInvariant)]
    private static partial Regex SlugPattern();

    /// <summary>
    /// The feature-name rule, with <c>\z</c> like <see cref="SlugRegex"/>. Lower case only, as Scalekit names its features
    /// (<c>sso</c>, <c>dir_sync</c>): names are compared exactly, so "SSO" set a second feature beside "sso".
    /// </summary>
    public const string FeatureNameRegex = @"^[a-z0-9_-]{1,64}\z";

    [GeneratedRegex(FeatureNameRegex, RegexOptions.CultureInvariant)]
    private static partial Regex FeatureNamePattern();
}
