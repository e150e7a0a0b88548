using System.Buffers;
using System.Text;
using Serilog.Core;
using Serilog.Events;

namespace Api.Infrastructure;

/// <summary>
/// A request's target, as log events and traces carry it, with anything that may be an access token replaced.
/// ASP.NET Core's own request events ("Request starting ...", Microsoft.AspNetCore.Hosting at Information) carry the
/// raw query string, where a client may send its token (RFC 6750 §2.3 <c>?access_token=</c>): every value is
/// replaced, as OpenTelemetry does for <c>url.query</c>; the names stay, so the event still says what was sent. They
/// and this API's request event also carry the path, where a client bug may put the token
/// (<c>/organizations/${token}</c>, <c>/organizations/Bearer%20${token}</c>): a run shaped like a compact JWT is replaced.
/// </summary>
internal sealed class RequestTargetRedaction : ILogEventEnricher
{
    private const string Redacted = "Redacted";

    // "Path" and "QueryString" are ASP.NET Core's request-starting event; "RequestPath" is Serilog's request event.
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        Replace(logEvent, "QueryString", static query => query.Length > 1 ? RedactQuery(query) : query);
        Replace(logEvent, "Path", RedactPath);
        Replace(logEvent, "RequestPath", RedactPath);
    }

    /// <summary>
    /// The path with each run shaped like a compact JWT replaced, wherever it is in its segment (<c>Bearer eyJ...</c>,
    /// <c>;access_token=eyJ...</c>), the rest kept; the same instance when there is none.
    /// </summary>
    public static string RedactPath(string path)
    {
        // A JWT's header is base64url JSON, so it starts "ey": a path without "ey" is returned without a copy.
        var at = path.IndexOf("ey", StringComparison.Ordinal);
        if (at < 0)
        {
            return path;
        }

        StringBuilder? redacted = null;
        var copied = 0;
        while (at >= 0)
        {
            // The run of token characters around this "ey", each character looked at once whatever the path holds.
            var start = path.AsSpan(0, at).LastIndexOfAnyExcept(TokenCharacters) + 1;
            var end = path.AsSpan(at).IndexOfAnyExcept(TokenCharacters) is var length and >= 0 ? at + length : path.Length;
            if (TokenStart(path.AsSpan(start, end - start)) is var token and >= 0)
            {
                redacted ??= new StringBuilder(path.Length);
                redacted.Append(path, copied, start + token - copied).Append(Redacted);
                copied = end;
            }

            at = end < path.Length ? path.IndexOf("ey", end, StringComparison.Ordinal) : -1;
        }

        return redacted is null ? path : redacted.Append(path, copied, path.Length - copied).ToString();
    }

    // Base64url, and the dots between a token's parts.
    private static readonly SearchValues<char> TokenCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    // Where, in a run of base64url parts joined by dots, a JWS (three parts) or JWE (five) ends it, or -1: its header is
    // at least `{"alg":"..."}` (16 characters encoded), so an external id like "eyes.on.you" or "v1.json" is not one.
    // The longest reading wins.
    private static int TokenStart(ReadOnlySpan<char> run)
    {
        foreach (var parts in (ReadOnlySpan<int>)[5, 3])
        {
            var header = run;
            var dots = 0;
            for (var i = run.Length - 1; i >= 0 && dots < parts; i--)
            {
                if (run[i] == '.' && ++dots == parts - 1)
                {
                    header = run[..i];
                    dots = parts;
                }
            }

            var partStart = header.LastIndexOf('.') + 1;
            if (dots == parts && HeaderStart(header[partStart..]) is var ey and >= 0 && header.Length - (partStart + ey) >= 16)
            {
                return partStart + ey;
            }
        }

        return -1;
    }

    // A header starts its part ("ey"), or follows other characters as the encoding of `{"` does ("20eyJ..."): an id like
    // "journey-planner-service.v2.prod" has an "ey" inside its first part, and is not a token.
    private static int HeaderStart(ReadOnlySpan<char> part) =>
        part.StartsWith("ey", StringComparison.Ordinal) ? 0 : part.IndexOf("eyJ", StringComparison.Ordinal);

    private static void Replace(LogEvent logEvent, string name, Func<string, string> redact)
    {
        if (logEvent.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: string text }
            && redact(text) is var redacted && !ReferenceEquals(redacted, text))
        {
            logEvent.AddOrUpdateProperty(new LogEventProperty(name, new ScalarValue(redacted)));
        }
    }

    // "?a=1&b&c=3" becomes "?a=Redacted&Redacted&c=Redacted": a part without '=' may be the token itself.
    private static string RedactQuery(string query) =>
        "?" + string.Join('&', query.TrimStart('?').Split('&').Select(part =>
            part.IndexOf('=') is var equals and > 0 ? $"{part[..equals]}={Redacted}" : part.Length == 0 ? part : Redacted));
}
