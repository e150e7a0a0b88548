using Microsoft.AspNetCore.Http.Features;

namespace Api.Infrastructure;

public static class RequestBodyLimit
{
    /// <summary>Organization bodies are small: anything over <paramref name="maxBytes"/> is 413, before it is read.</summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app, long maxBytes) =>
        app.Use((context, next) =>
        {
            if (context.Request.ContentLength > maxBytes)
            {
                throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
            }

            // Bodies without a Content-Length (chunked) are cut off by the server while they are read.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                feature.MaxRequestBodySize = maxBytes;
            }

            return next(context);
        });
}
