using System.Buffers;

namespace Api.Infrastructure;

/// <summary>
/// Text from outside (a rejected token's claims, Scalekit's error descriptions) made fit to log or to hand to a caller:
/// control characters dropped (no forged log lines, no terminal escapes), and so are the line and paragraph separators
/// (U+2028, U+2029: a line break to some viewers) and the bidirectional overrides and isolates (U+202A-U+202E,
/// U+2066-U+2069: a viewer shows the text around them in another order); the rest is capped.
/// </summary>
public static class PrintableText
{
    private const int MaxStackChars = 256;

    // char.IsControl's two ranges, U+2028-U+202E (the separators, then the embeddings and overrides) and the isolates.
    private static readonly SearchValues<char> Dropped = SearchValues.Create(string.Concat(
        Enumerable.Range(0x00, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Concat(Enumerable.Range(0x2028, 7)).Concat(Enumerable.Range(0x2066, 4))
            .Select(c => (char)c)));

    /// <summary>
    /// The first <paramref name="maxLength"/> characters of <paramref name="text"/> that are not control characters,
    /// optionally trimmed; <c>null</c> when none are left. Text that is already clean is returned as it is.
    /// </summary>
    public static string? Clean(string? text, int maxLength, bool trim = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var source = text.AsSpan();
        if (source.IndexOfAny(Dropped) < 0)
        {
            return Finish(text, source[..Math.Min(source.Length, maxLength)], trim);
        }

        Span<char> kept = maxLength <= MaxStackChars ? stackalloc char[maxLength] : new char[maxLength];
        var count = 0;
        foreach (var c in source)
        {
            if (Dropped.Contains(c))
            {
                continue;
            }

            kept[count++] = c;
            if (count == maxLength)
            {
                break;
            }
        }

        return Finish(null, kept[..count], trim);
    }

    private static string? Finish(string? original, ReadOnlySpan<char> kept, bool trim)
    {
        if (trim)
        {
            kept = kept.Trim();
        }

        if (kept.IsEmpty)
        {
            return null;
        }

        return original is not null && kept.Length == original.Length ? original : new string(kept);
    }
}
