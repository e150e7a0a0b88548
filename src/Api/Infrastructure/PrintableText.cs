namespace Api.Infrastructure;

/// <summary>
/// Text from outside (a rejected token's claims, Scalekit's error descriptions) made fit to log or to hand to a caller:
/// control characters dropped (no forged log lines, no terminal escapes) and the rest capped.
/// </summary>
public static class PrintableText
{
    private const int MaxStackChars = 256;

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

        // char.IsControl is exactly these two ranges.
        var source = text.AsSpan();
        if (source.IndexOfAnyInRange('\u0000', '\u001F') < 0 && source.IndexOfAnyInRange('\u007F', '\u009F') < 0)
        {
            return Finish(text, source[..Math.Min(source.Length, maxLength)], trim);
        }

        Span<char> kept = maxLength <= MaxStackChars ? stackalloc char[maxLength] : new char[maxLength];
        var count = 0;
        foreach (var c in source)
        {
            if (char.IsControl(c))
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
