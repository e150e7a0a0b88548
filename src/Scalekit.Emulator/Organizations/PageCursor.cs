using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Scalekit.Emulator.Organizations;

/// <summary>
/// What a page token points at: the organizations after (next page) or before (previous page) a sequence number.
/// Opaque to clients, and stable under inserts and deletes.
/// </summary>
internal sealed record PageCursor(long Sequence, bool Before)
{
    public static PageCursor After(long sequence) => new(sequence, Before: false);

    public static PageCursor BeforeOf(long sequence) => new(sequence, Before: true);

    public string Encode() =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes((Before ? "b:" : "a:") + Sequence.ToString(CultureInfo.InvariantCulture)));

    public static bool TryDecode(string token, out PageCursor? cursor)
    {
        cursor = null;
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(token);
        }
        catch (FormatException)
        {
            return false;
        }

        var text = Encoding.ASCII.GetString(bytes);
        if (text.Length < 3 || text[1] != ':' || text[0] is not ('a' or 'b')
            || !long.TryParse(text.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            return false;
        }

        cursor = new PageCursor(sequence, Before: text[0] == 'b');
        return true;
    }
}
