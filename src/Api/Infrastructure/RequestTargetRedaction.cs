using System.Buffers;
using Serilog.Core;
using Serilog.Events;

namespace Api.Infrastructure;

/// <summary>
/// A request's target, as log events and traces carry it, with anything that may be an access token replaced.
/// ASP.NET Core's own request events ("Request starting ...", Microsoft.AspNetCore.Hosting at Information) carry the
/// raw query string, where a client may send its token (RFC 6750 §2.3 <c>?access_token=</c>): every value is
/// replaced, as OpenTelemetry does for <c>url.query</c>; the names stay, so the event still says what was sent. They
/// and this API's request event also carry the path, where a client bug may put the token
/// (<c>/organizations/${token}</c>): a segment shaped like a compact JWT is replaced.
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

    /// <summary>The path with each segment shaped like a compact JWT replaced; the same instance when there is none.</summary>
    public static string RedactPath(string path)
    {
        // A JWT's header is base64url JSON, so it starts "ey": a path without "/ey" is returned without a copy.
        if (!path.Contains("/ey", StringComparison.Ordinal))
        {
            return path;
        }

        var segments = path.Split('/');
        var redacted = false;
        for (var i = 0; i < segments.Length; i++)
        {
            if (IsTokenShaped(segments[i]))
            {
                segments[i] = Redacted;
                redacted = true;
            }
        }

        return redacted ? string.Join('/', segments) : path;
    }

    private static readonly SearchValues<char> Base64Url =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    // A JWS (three parts) or JWE (five), whose header is at least `{"alg":"..."}` (16 characters encoded): an external
    // id like "eyes.on.you" or a file name like "v1.json" is not.
    private static bool IsTokenShaped(string segment)
    {
        var parts = segment.Split('.');
        return parts.Length is 3 or 5
            && parts[0].Length >= 16
            && parts[0].StartsWith("ey", StringComparison.Ordinal)
            && parts.All(part => !part.AsSpan().ContainsAnyExcept(Base64Url));
    }

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
