using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Api.Organizations;

public static class OrganizationId
{
    private const string Prefix = "org_";

    private static readonly SearchValues<char> IdCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    /// <summary><see cref="IsWellFormed"/> as an ECMA-262 pattern, for the OpenAPI document.</summary>
    public const string Pattern = "^org_[A-Za-z0-9_-]{1,28}$";

    /// <summary>
    /// Whether <paramref name="id"/> can be a Scalekit organization id: "org_" and more of [A-Za-z0-9_-], 32 at most.
    /// Anything else is answered 404 without a management call: the words beside <c>{id}</c> in this API's paths
    /// ("current", "external") would otherwise reach Scalekit as ids under <c>/organizations/current/settings</c> or
    /// <c>PATCH /organizations/external</c>, with a token allowed to write any organization.
    /// </summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: > 4 and <= 32 } && id.StartsWith(Prefix, StringComparison.Ordinal)
        && !id.AsSpan(Prefix.Length).ContainsAnyExcept(IdCharacters);
}

public static class ExternalIds
{
    /// <summary>
    /// The external id exactly as the client escaped it in the last path segment, unescaped once. The route value
    /// cannot be trusted for this: the server leaves an escaped slash (%2F) escaped while unescaping everything else,
    /// so "a%2Fb" and "a%252Fb" would both arrive as "a%2Fb".
    /// </summary>
    public static string FromLastPathSegment(HttpContext context, string routeValue)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(rawTarget) || !rawTarget.StartsWith('/'))
        {
            return routeValue;
        }

        var path = rawTarget.AsSpan();
        if (path.IndexOfAny('?', '#') is var end and >= 0)
        {
            path = path[..end];
        }

        // The server resolved dot segments ("crm-b/." and "crm-b/x/.." are "crm-b/"), %2E included, before routing;
        // so are they here, or the lookup asked for "." or ".." and answered 404 for a path the route matched.
        var segments = new List<string>();
        foreach (var segment in path.TrimEnd('/').ToString().Split('/'))
        {
            switch (Uri.UnescapeDataString(segment))
            {
                case ".":
                    break;
                case "..":
                    if (segments.Count > 1)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    break;
                case var unescaped:
                    segments.Add(unescaped);
                    break;
            }
        }

        return segments.Count > 0 ? segments[^1] : routeValue;
    }

    /// <summary>
    /// Whether <paramref name="externalId"/> can be an organization's external id (the create/update rule): 1-255
    /// characters (code points, as displayName and metadata are counted, so an emoji is one), none a control character.
    /// </summary>
    public static bool IsWellFormed(string? externalId) =>
        externalId is { Length: >= 1 }
        && (externalId.Length <= MaxLength || externalId.EnumerateRunes().Count() <= MaxLength)
        && !externalId.Any(char.IsControl);

    public const int MaxLength = 255;

    /// <summary>
    /// Whether <paramref name="externalId"/> can travel as a path segment: "." and ".." would be resolved away by the
    /// URI, sending the management token to another Scalekit path (such ids are found with <c>?externalId=</c>).
    /// </summary>
    public static bool IsPathSegment(string externalId) => IsWellFormed(externalId) && externalId is not ("." or "..");
}
