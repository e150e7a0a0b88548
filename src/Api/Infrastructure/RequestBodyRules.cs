using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Api.Infrastructure;

public static class RequestBodyRules
{
    /// <summary>
    /// Leaves every refusal of a body's media type to <see cref="UseRequestBodyRules"/>. Routing's own check (the
    /// endpoints' <see cref="IAcceptsMetadata"/>) answered a type that is not JSON at all (<c>text/plain</c>) with a
    /// bodiless 415 before the rules ran, so it lacked their <c>reason</c> and, on a PATCH, <c>Accept-Patch</c>.
    /// Every route here has one endpoint per method, so routing has nothing to choose by media type.
    /// </summary>
    public static IServiceCollection AddRequestBodyRules(this IServiceCollection services)
    {
        const string routingMediaTypeCheck = "Microsoft.AspNetCore.Routing.Matching.AcceptsMatcherPolicy";
        foreach (var policy in services.Where(d => d.ServiceType == typeof(MatcherPolicy)
                     && d.ImplementationType?.FullName == routingMediaTypeCheck).ToList())
        {
            services.Remove(policy);
        }

        return services;
    }

    /// <summary>
    /// Organization bodies are small, plain UTF-8 JSON of the types each endpoint declares, and every way a body can
    /// miss that is answered before anything reads it:
    /// <list type="bullet">
    /// <item>over <paramref name="maxBytes"/>: 413;</item>
    /// <item>in a transfer coding other than chunked: 501 (RFC 9112 §6.1);</item>
    /// <item>in a content coding (gzip, br): 415 with <c>Accept-Encoding: identity</c> (RFC 9110 §15.5.16); read as it
    /// is, it would only fail later as "not valid JSON", which sends the client looking in the wrong place;</item>
    /// <item>of a media type the endpoint does not accept (<c>text/plain</c>, <c>application/json-patch+json</c> on a
    /// merge-patch endpoint): 415 naming the accepted ones, with <c>Accept-Patch</c> on a PATCH (RFC 5789 §2.2);</item>
    /// <item>with a charset other than UTF-8: 415 (RFC 8259 §8.1). The framework's JSON reader threw on a charset it
    /// did not know, and refused the quoted form <c>charset="utf-8"</c>, which RFC 9110 §5.6.6 makes equal to the bare one.</item>
    /// </list>
    /// </summary>
    public static IApplicationBuilder UseRequestBodyRules(this IApplicationBuilder app, long maxBytes) =>
        app.Use((context, next) =>
        {
            var request = context.Request;
            if (request.ContentLength > maxBytes)
            {
                throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
            }

            if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true })
            {
                // RFC 9112 §6.1: a transfer coding the server does not implement (only chunked is) is 501. The server
                // would otherwise hand the still-coded bytes over as the body.
                if (HasCodingOtherThan(request.Headers.TransferEncoding, "chunked"))
                {
                    return RefuseAsync(context, ProblemReasons.TransferCodingUnsupported, "Not Implemented",
                        "The request body's Transfer-Encoding is not supported: send it chunked or with a Content-Length.");
                }

                if (HasCodingOtherThan(request.Headers.ContentEncoding, "identity"))
                {
                    context.Response.Headers.AcceptEncoding = "identity";
                    return RefuseAsync(context, "The request body must not be compressed (Content-Encoding): send it as plain JSON.",
                        ProblemReasons.ContentEncodingUnsupported);
                }

                if (context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAcceptsMetadata>() is { Count: > 0 } accepts
                    && RefusedMediaType(context, accepts) is { } refusal)
                {
                    return refusal;
                }
            }

            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature ? feature : null;
            if (request.ContentLength is null && HasBody(context))
            {
                // A body without a Content-Length (chunked) is counted here as it is read. Kestrel's own limit counts
                // the chunked framing too (every chunk's size line and CRLFs), so a body well under the limit sent in
                // small chunks was refused as too large; the server's limit now only bounds that framing.
                limit?.MaxRequestBodySize = maxBytes * MaxChunkedFramingFactor;
                request.Body = new LimitedBodyStream(request.Body, maxBytes);
                if (!TakesABody(context))
                {
                    return ReadPastThenNextAsync(context, next);
                }
            }
            else
            {
                limit?.MaxRequestBodySize = maxBytes;
            }

            return next(context);
        });

    // A 1-byte chunk takes 6 bytes on the wire ("1\r\nx\r\n"): room for any framing but chunk extensions.
    private const int MaxChunkedFramingFactor = 8;

    /// <summary>
    /// Reads a chunked body that nothing would read (a GET's, a DELETE's) before the endpoint runs, so that one over
    /// the limit is refused with a 413 as it is when a Content-Length announces it. Unread, it was answered 200 and
    /// only then consumed by the server, up to its framing limit.
    /// </summary>
    private static async Task ReadPastThenNextAsync(HttpContext context, RequestDelegate next)
    {
        await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        await next(context);
    }

    private static bool TakesABody(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>() is not null;

    private static bool HasBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? context.Request.ContentLength > 0;

    private static bool HasCodingOtherThan(StringValues codings, string accepted)
    {
        foreach (var header in codings)
        {
            foreach (var coding in (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!coding.Equals(accepted, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The refusal for a body whose type the endpoint does not take, or null when it takes it. A request with neither
    /// a <c>Content-Type</c> nor a body is left to the endpoint, which says whether it needs one; a body without a type
    /// is refused like a body of another type.
    /// </summary>
    private static Task? RefusedMediaType(HttpContext context, IReadOnlyList<IAcceptsMetadata> accepts)
    {
        var request = context.Request;
        if (string.IsNullOrEmpty(request.ContentType) && !HasBody(context))
        {
            return null;
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !accepts.Any(metadata => metadata.ContentTypes.Contains(contentType.MediaType.Value, StringComparer.OrdinalIgnoreCase)))
        {
            var list = string.Join(", ", accepts.SelectMany(metadata => metadata.ContentTypes).Distinct(StringComparer.OrdinalIgnoreCase));
            if (HttpMethods.IsPatch(request.Method))
            {
                context.Response.Headers["Accept-Patch"] = list;
            }

            return RefuseAsync(context, $"The request body must be one of: {list}.", ProblemReasons.MediaTypeUnsupported);
        }

        if (contentType.Charset is { HasValue: true } charset)
        {
            // Named twice ("charset=utf-8; charset=latin1", an error in RFC 6838 §4.3), the first one was taken: a
            // proxy in front that reads the last one sees another body than this API.
            if (!HeaderUtilities.RemoveQuotes(charset).Equals("utf-8", StringComparison.OrdinalIgnoreCase)
                || contentType.Parameters.Count(parameter => parameter.Name.Equals("charset", StringComparison.OrdinalIgnoreCase)) > 1)
            {
                return RefuseAsync(context, "The request body must be UTF-8 JSON: leave out the charset parameter or make it utf-8, named once.",
                    ProblemReasons.CharsetUnsupported);
            }

            // The framework's reader takes only the bare form; the type is all that is left to say.
            request.ContentType = contentType.MediaType.Value;
        }

        return null;
    }

    /// <summary>The request body, refused with a 413 once more than <paramref name="maxBytes"/> of it are read.</summary>
    private sealed class LimitedBodyStream(Stream inner, long maxBytes) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        private int Count(int read)
        {
            _read += read;
            return _read > maxBytes
                ? throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge)
                : read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static Task RefuseAsync(HttpContext context, string detail, ProblemReason reason) =>
        RefuseAsync(context, reason, "Unsupported Media Type", detail);

    private static Task RefuseAsync(HttpContext context, ProblemReason reason, string title, string detail)
    {
        context.Response.StatusCode = reason.Status;
        var problem = ApiProblems.Create(reason, title, detail);
        return context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem })
            .AsTask();
    }
}
