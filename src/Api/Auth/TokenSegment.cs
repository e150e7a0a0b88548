using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;

namespace Api.Auth;

/// <summary>
/// Reads named top-level string members (or the JSON types of named members) of one base64url JSON segment of a compact JWS (its header or payload)
/// without parsing the token: for decisions and audit lines that need a few values, not a validated token.
/// </summary>
internal static class TokenSegment
{
    private const int MaxStackBytes = 1024;

    /// <summary>
    /// Fills <paramref name="values"/> with the string members named by <paramref name="names"/> (same positions, at
    /// most 64 names); members of another type and all others are skipped. False when the segment is not a base64url
    /// JSON object (strings that are not UTF-8 included) or names one of <paramref name="names"/> twice.
    /// </summary>
    public static bool TryReadStrings(ReadOnlySpan<char> segment, ReadOnlySpan<string> names, Span<string?> values) =>
        TryRead(segment, names, values, []);

    /// <summary>
    /// Fills <paramref name="kinds"/> with the JSON type of the members named by <paramref name="names"/> (same
    /// positions; <see cref="JsonTokenType.None"/> when absent). False when the segment is not a base64url JSON object.
    /// </summary>
    public static bool TryReadKinds(ReadOnlySpan<char> segment, ReadOnlySpan<string> names, Span<JsonTokenType> kinds)
    {
        kinds.Clear();
        return TryRead(segment, names, [], kinds);
    }

    /// <summary>
    /// Whether no object in the segment names a member twice, compared after unescaping (<c>"oid"</c> and
    /// <c>"o\u0069d"</c> are one name). False too when the segment is not a base64url JSON text.
    /// </summary>
    public static bool HasUniqueNames(ReadOnlySpan<char> segment)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(segment.Length));
        try
        {
            if (Base64Url.DecodeFromChars(segment, rented, out _, out var length) != OperationStatus.Done)
            {
                return false;
            }

            var reader = new Utf8JsonReader(rented.AsSpan(0, length));
            var objects = new Stack<HashSet<string>>();
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        objects.Push(new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.EndObject:
                        objects.Pop();
                        break;
                    case JsonTokenType.PropertyName when !objects.Peek().Add(reader.GetString()!):
                        return false;
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryRead(ReadOnlySpan<char> segment, ReadOnlySpan<string> names, Span<string?> values, Span<JsonTokenType> kinds)
    {
        var maxBytes = Base64Url.GetMaxDecodedLength(segment.Length);
        byte[]? rented = null;
        var buffer = maxBytes <= MaxStackBytes ? stackalloc byte[MaxStackBytes] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            if (Base64Url.DecodeFromChars(segment, buffer, out _, out var length) != OperationStatus.Done)
            {
                return false;
            }

            var reader = new Utf8JsonReader(buffer[..length]);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var seen = 0UL;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var slot = names.Length - 1;
                while (slot >= 0 && !reader.ValueTextEquals(names[slot]))
                {
                    slot--;
                }

                // A wanted member named twice has no one value (RFC 7519 4, RFC 7515 4): the segment is unreadable
                // here, and the full parse refuses it as malformed. Taking the last copy answered a header whose
                // second kid was unknown as unknown_kid, and put a rejected token's second "sub" in the audit line.
                if (slot >= 0 && (seen & (1UL << slot)) != 0)
                {
                    return false;
                }

                if (slot >= 0)
                {
                    seen |= 1UL << slot;
                }

                reader.Read();
                if (slot >= 0 && !kinds.IsEmpty)
                {
                    kinds[slot] = reader.TokenType;
                }

                if (slot >= 0 && !values.IsEmpty && reader.TokenType == JsonTokenType.String)
                {
                    values[slot] = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            return true;
        }
        // The reader checks the JSON's structure, not the UTF-8 inside its strings: a string that is not UTF-8 fails
        // only when it is read, and is as unreadable as the rest.
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
