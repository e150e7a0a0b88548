namespace Api.Infrastructure;

public static class ResponseHeaders
{
    /// <summary>
    /// What every answer says to browsers and caches (the OWASP REST security headers that belong to the API rather
    /// than to the TLS terminator): organization data is per tenant and fetched with a token, so no cache keeps it
    /// (<c>Cache-Control: no-store</c>), and JSON is never to be sniffed into something a browser runs
    /// (<c>X-Content-Type-Options: nosniff</c>). Set on the way in, so an endpoint may still choose its own caching;
    /// the exception handler clears them and sets them again (<see cref="ApiExceptionHandler"/>).
    /// </summary>
    public static IApplicationBuilder UseApiResponseHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            AddTo(context.Response);
            return next(context);
        });

    /// <summary>Sets them on <paramref name="response"/>; for answers written after something cleared the headers.</summary>
    public static void AddTo(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
    }
}
