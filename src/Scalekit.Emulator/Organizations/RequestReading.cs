using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Scalekit.Emulator.Organizations;

internal static class RequestReading
{
    /// <summary>The body as JSON; an empty body reads as <c>{}</c>, a malformed one as null.</summary>
    public static async Task<JsonElement?> ReadJsonAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        if (buffer.Length == 0)
        {
            return JsonDocument.Parse("{}").RootElement.Clone();
        }

        try
        {
            using var document = JsonDocument.Parse(buffer.ToArray());
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The last path segment exactly as the client encoded it, decoded once. The route value cannot be used:
    /// Kestrel leaves an encoded slash (%2F) encoded while decoding everything else, so "a%252F" and "a%2F" would collide.
    /// </summary>
    public static string LastPathSegment(HttpContext context, string routeValue)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(rawTarget))
        {
            return routeValue;
        }

        var path = rawTarget.AsSpan();
        var query = path.IndexOf('?');
        if (query >= 0)
        {
            path = path[..query];
        }

        return Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..]);
    }
}
