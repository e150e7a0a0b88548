using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Api.Infrastructure;

/// <summary>
/// The API's own counters, on one <see cref="Meter"/> named <see cref="MeterName"/>. Tag values are short fixed codes
/// or route templates, never ids, so cardinality stays bounded.
/// </summary>
public sealed class ApiMetrics
{
    public const string MeterName = "Organizations.Api";
    public const string AccessDenials = "organizations.api.access.denials";
    public const string UpstreamCalls = "organizations.api.upstream.calls";
    public const string ManagementTokenRefreshes = "organizations.api.management_token.refreshes";
    public const string JwksRefreshes = "organizations.api.jwks.refreshes";

    private readonly Counter<long> _accessDenials;
    private readonly Counter<long> _upstreamCalls;
    private readonly Counter<long> _managementTokenRefreshes;
    private readonly Counter<long> _jwksRefreshes;

    public ApiMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _accessDenials = meter.CreateCounter<long>(AccessDenials, "{denial}",
            "Requests denied by authentication or authorization, by reason code and policy.");
        _upstreamCalls = meter.CreateCounter<long>(UpstreamCalls, "{call}",
            "HTTP exchanges with Scalekit's management API (every attempt), by route template and outcome.");
        _managementTokenRefreshes = meter.CreateCounter<long>(ManagementTokenRefreshes, "{refresh}",
            "Requests for a new management token, by outcome.");
        _jwksRefreshes = meter.CreateCounter<long>(JwksRefreshes, "{refresh}",
            "Fetches of the Scalekit signing keys (JWKS), by outcome.");
    }

    public void AccessDenied(string reason, string policy) =>
        _accessDenials.Add(1, new("reason", reason), new("policy", policy));

    /// <param name="outcome">success, redirect, client_error, server_error, timeout (the resilience pipeline's), cancelled (nobody waited for the answer any more), network_error or invalid_response (an answer refused while read, e.g. too large).</param>
    public void UpstreamCalled(string method, string route, string outcome, int? statusCode)
    {
        var tags = new TagList { { "method", method }, { "route", route }, { "outcome", outcome } };
        if (statusCode is { } status)
        {
            tags.Add("status_code", status);
        }

        _upstreamCalls.Add(1, tags);
    }

    /// <param name="outcome">success, rejected (credentials refused) or unavailable.</param>
    public void ManagementTokenRefreshed(string outcome) =>
        _managementTokenRefreshes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <param name="outcome">success, empty (no usable key) or failure.</param>
    public void JwksRefreshed(string outcome) =>
        _jwksRefreshes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
