using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Api.Infrastructure;

public static class RequestBodyRules
{
    /// <summary>
    /// Organization bodies are small, plain JSON. Anything over <paramref name="maxBytes"/> is 413, before it is read.
    /// A body in a content coding (gzip, br) is 415 with <c>Accept-Encoding: identity</c> (RFC 9110 §15.5.16): read
    /// as it is, it would only fail later as "not valid JSON", which sends the client looking in the wrong place.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyRules(this IApplicationBuilder app, long maxBytes) =>
        app.Use((context, next) =>
        {
            if (context.Request.ContentLength > maxBytes)
            {
                throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
            }

            if (IsEncoded(context.Request.Headers.ContentEncoding)
                && context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true })
            {
                return RefuseEncodedBodyAsync(context);
            }

            // Bodies without a Content-Length (chunked) are cut off by the server while they are read.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                feature.MaxRequestBodySize = maxBytes;
            }

            return next(context);
        });

    private static bool IsEncoded(StringValues codings)
    {
        foreach (var header in codings)
        {
            foreach (var coding in (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static Task RefuseEncodedBodyAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
        context.Response.Headers.AcceptEncoding = "identity";
        var problem = ApiProblems.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported Media Type",
            "The request body must not be compressed (Content-Encoding): send it as plain JSON.", "content_encoding_unsupported");
        return context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem })
            .AsTask();
    }
}
