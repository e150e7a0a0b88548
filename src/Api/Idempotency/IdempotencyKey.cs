using System.Text;
using Microsoft.Extensions.Primitives;

namespace Api.Idempotency;

/// <summary>
/// The <c>Idempotency-Key</c> request header (IETF httpapi idempotency-key draft): an RFC 8941 string such as
/// <c>"8e03978e-40d5-43e8-bc93-6894a57f9324"</c>. Bare keys (no quotes) are accepted too, as most clients send them.
/// </summary>
public static class IdempotencyKey
{
    public const string HeaderName = "Idempotency-Key";
    public const int MaxLength = 255;

    /// <summary>
    /// The header's syntax as an ECMA-262 pattern, for the OpenAPI document: a bare key of 1-255 visible ASCII characters
    /// other than <c>" \ , ;</c>, or 1-255 printable ASCII characters between double quotes with <c>\"</c> and
    /// <c>\\</c> escaped (a character each). The quoted form is longer than the key, so a <c>maxLength</c> would
    /// refuse a valid 255-character quoted key. A key of spaces only is refused besides (<see cref="Parse"/>). Ranges are
    /// written in hex: .NET does not read an escaped character (<c>\-</c>) as a range's end the way ECMA-262 does.
    /// </summary>
    public const string Pattern = @"^(?:[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]{1,255}|""(?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\[""\\]){1,255}"")$";

    /// <summary>The key, or null when the header is malformed (repeated, blank, too long, or not a valid string).</summary>
    public static string? Parse(StringValues header)
    {
        if (header.Count != 1 || header[0] is not { } raw)
        {
            return null;
        }

        var value = raw.Trim(' ');
        var key = value.StartsWith('"') ? Unquote(value) : Bare(value);
        return key is { Length: <= MaxLength } && !string.IsNullOrWhiteSpace(key) ? key : null;
    }

    // RFC 8941 sf-string: printable ASCII between double quotes; only \" and \\ are escapes; nothing may follow.
    private static string? Unquote(string value)
    {
        var key = new StringBuilder(value.Length);
        for (var i = 1; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '"')
            {
                return i == value.Length - 1 ? key.ToString() : null;
            }

            if (c == '\\')
            {
                if (++i == value.Length || value[i] is not ('"' or '\\'))
                {
                    return null;
                }

                c = value[i];
            }
            else if (c is < ' ' or > '~')
            {
                return null;
            }

            key.Append(c);
        }

        return null;
    }

    // Visible ASCII without the characters that would make it ambiguous as a structured field (lists, parameters, quotes).
    private static string? Bare(string value) =>
        value.All(c => c is > ' ' and <= '~' and not ('"' or '\\' or ',' or ';')) ? value : null;
}
