using Serilog.Core;
using Serilog.Events;

namespace Api.Infrastructure;

/// <summary>
/// ASP.NET Core's own request events ("Request starting ...", Microsoft.AspNetCore.Hosting at Information) carry the
/// raw query string, where a client may send its access token (RFC 6750 §2.3 <c>?access_token=</c>). Every value is
/// replaced, as OpenTelemetry does for <c>url.query</c>; the names stay, so the event still says what was sent.
/// </summary>
internal sealed class QueryStringRedaction : ILogEventEnricher
{
    private const string PropertyName = "QueryString";
    private const string Redacted = "Redacted";

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (logEvent.Properties.TryGetValue(PropertyName, out var value) && value is ScalarValue { Value: string { Length: > 1 } query })
        {
            logEvent.AddOrUpdateProperty(new LogEventProperty(PropertyName, new ScalarValue(Redact(query))));
        }
    }

    // "?a=1&b&c=3" becomes "?a=Redacted&Redacted&c=Redacted": a part without '=' may be the token itself.
    private static string Redact(string query) =>
        "?" + string.Join('&', query.TrimStart('?').Split('&').Select(part =>
            part.IndexOf('=') is var equals and > 0 ? $"{part[..equals]}={Redacted}" : part.Length == 0 ? part : Redacted));
}
