namespace Api.Infrastructure;

public static class RequestMethods
{
    /// <summary>
    /// A method is matched byte for byte (RFC 9110 §9.1: method names are case-sensitive), so <c>get</c> or
    /// <c>delete</c> is another method than <c>GET</c> or <c>DELETE</c>, and is refused like any method a route does
    /// not take: 405 with <c>Allow</c>, described by the status code pages. Routing compares methods ignoring case,
    /// so <c>get</c> was served as a read and <c>delete</c> deleted, a spelling a proxy or firewall in front, matching
    /// methods exactly, lets through under rules written for neither.
    /// </summary>
    public static IApplicationBuilder UseExactMethods(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var method = context.Request.Method;
            if (string.Equals(HttpMethods.GetCanonicalizedValue(method), method, StringComparison.Ordinal)
                || context.GetEndpoint() is not RouteEndpoint endpoint
                || AllowedMethods(context, endpoint) is not { Length: > 0 } allowed)
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = allowed;
            return Task.CompletedTask;
        });

    /// <summary>The methods of every endpoint on <paramref name="endpoint"/>'s route, as routing's own 405 lists them.</summary>
    private static string AllowedMethods(HttpContext context, RouteEndpoint endpoint)
    {
        var route = endpoint.RoutePattern.RawText;
        var methods = context.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(candidate => candidate.RoutePattern.RawText == route)
            .SelectMany(candidate => candidate.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        return string.Join(", ", methods);
    }
}
