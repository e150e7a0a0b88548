using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Api.Infrastructure;

public static class ResponseHeaders
{
    /// <summary>
    /// No <c>Server: Kestrel</c> on any answer, Kestrel's own refusals (400, 414, 431) included: it tells a scanner
    /// which server and framework to try exploits against and tells a caller nothing (OWASP: remove it).
    /// </summary>
    public static IServiceCollection AddApiResponseHeaders(this IServiceCollection services) =>
        services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);

    /// <summary>
    /// What every answer says to browsers and caches (the OWASP REST security headers that belong to the API rather
    /// than to the TLS terminator): organization data is per tenant and fetched with a token, so no cache keeps it
    /// (<c>Cache-Control: no-store</c>), and JSON is never to be sniffed into something a browser runs
    /// (<c>X-Content-Type-Options: nosniff</c>). Set on the way in, so an endpoint may still choose its own caching.
    /// </summary>
    /// <remarks>
    /// The exception handler middleware clears the headers and, as the answer starts, sets its own
    /// (<c>Cache-Control: no-cache,no-store</c>, <c>Pragma</c>, <c>Expires: -1</c>). A callback registered here, before
    /// the middleware registers its own, runs after it (they run last in, first out) and sets these again, so an error
    /// answered from an exception carries exactly the headers of one answered anywhere else.
    /// </remarks>
    public static IApplicationBuilder UseApiResponseHeaders(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            AddTo(context.Response);
            context.Response.OnStarting(AfterExceptionHandler, context);
            return next(context);
        });

    private static void AddTo(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
    }

    private static Task AfterExceptionHandler(object state)
    {
        var context = (HttpContext)state;
        if (context.Features.Get<IExceptionHandlerFeature>() is not null)
        {
            AddTo(context.Response);
            context.Response.Headers.Pragma = default;
            context.Response.Headers.Expires = default;
        }

        return Task.CompletedTask;
    }
}
