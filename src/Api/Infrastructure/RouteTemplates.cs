using Microsoft.AspNetCore.Routing.Patterns;

namespace Api.Infrastructure;

public static class RouteTemplates
{
    /// <summary>The matched route's template (<c>/organizations/{id}</c>), or <c>(unmatched)</c>: never the raw path.</summary>
    public static string RouteTemplateOf(this HttpContext http) =>
        (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)";

    /// <summary>
    /// A group's own route (<c>MapPost("/")</c> under <c>/organizations</c>) is named <c>/organizations</c>, as callers
    /// send it and the OpenAPI document shows it. The framework joins the two with a slash, and its template is the
    /// <c>http.route</c> of traces and metrics and the <c>Route</c> of the logs, which read <c>/organizations/</c>. Only
    /// the name changes: routing ignores a trailing slash either way.
    /// </summary>
    public static TBuilder WithoutTrailingSlash<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (endpoint is RouteEndpointBuilder { RoutePattern.RawText: { Length: > 1 } template } route && template.EndsWith('/'))
            {
                route.RoutePattern = RoutePatternFactory.Parse(template.TrimEnd('/'));
                route.Metadata.Add(new StoredRouteTemplate(template));
            }
        });
        return builder;
    }

    /// <summary>
    /// The template under which this route's state was stored before <see cref="WithoutTrailingSlash"/> renamed it
    /// (<c>/organizations/</c>): an <c>Idempotency-Key</c>'s stored name hashes it, and a renamed key would let a retry
    /// during a rolling deploy, or within a key's lifetime after one, create a second organization.
    /// </summary>
    public static string? StoredRouteTemplateOf(this HttpContext http) =>
        http.GetEndpoint() is RouteEndpoint endpoint
            ? endpoint.Metadata.GetMetadata<StoredRouteTemplate>()?.Template ?? endpoint.RoutePattern.RawText
            : null;

    private sealed record StoredRouteTemplate(string Template);
}
