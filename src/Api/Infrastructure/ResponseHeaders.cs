namespace Api.Infrastructure;

public static class ResponseHeaders
{
    /// <summary>
    /// What every answer says to browsers and caches (the OWASP REST security headers that belong to the API rather
    /// than to the TLS terminator): organization data is per tenant and fetched with a token, so no cache keeps it
    /// (<c>Cache-Control: no-store</c>), and JSON is never to be sniffed into something a browser runs
    /// (<c>X-Content-Type-Options: nosniff</c>). Set on the way in, so an endpoint may still choose its own caching;
    /// answers the exception handler writes get its own no-cache headers.
    /// </summary>
    public static IApplicationBuilder UseApiResponseHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.CacheControl = "no-store";
            headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
}
