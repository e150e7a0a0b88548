using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace Api.Infrastructure;

public static class ProblemDetailsSetup
{
    /// <summary>Every non-2xx answer is application/problem+json with a traceId; exceptions map in one place.</summary>
    public static IServiceCollection AddApiProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = AddTraceId);
        AnswerWhateverTheAccept(services);
        services.AddExceptionHandler<ApiExceptionHandler>();
        // Malformed bodies raise BadHttpRequestException (mapped to 400/413/415) in every environment.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }

    /// <summary>
    /// Errors the framework answers without a body (no route, a method the route does not take, a body cut off at the
    /// size limit or whose chunked framing is malformed) become Problem Details that say what went wrong, like every
    /// other error.
    /// </summary>
    public static IApplicationBuilder UseApiStatusCodePages(this IApplicationBuilder app) =>
        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            var status = http.Response.StatusCode;
            var problem = new ProblemDetails
            {
                Status = status,
                Title = status == StatusCodes.Status413PayloadTooLarge ? "Content Too Large" : null,
                Detail = status switch
                {
                    StatusCodes.Status404NotFound => "No endpoint matches this path.",
                    StatusCodes.Status405MethodNotAllowed =>
                        $"This endpoint does not take {PrintableText.Clean(http.Request.Method, 16)}; it takes {http.Response.Headers.Allow}.",
                    StatusCodes.Status413PayloadTooLarge => ApiExceptionHandler.BodyTooLargeDetail,
                    StatusCodes.Status400BadRequest when HostFiltering.Refused(http) => "The request's Host is not one this API answers.",
                    // The endpoint's body reader answers a body the server could not decode (a bad chunk size) this way.
                    StatusCodes.Status400BadRequest => ApiExceptionHandler.UnreadableRequestDetail,
                    _ => null,
                },
            };
            return http.RequestServices.GetRequiredService<IProblemDetailsService>()
                .WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem })
                .AsTask();
        });

    /// <summary>
    /// The framework's writer declines when <c>Accept</c> names no JSON type (<c>text/html</c>, <c>application/xml</c>),
    /// and then every error (401, 404, 429 ...) became an empty 500. RFC 9110 §12.1 lets a server answer in a type the
    /// client did not list rather than refuse, so the framework's writer is kept but asked to write whatever
    /// <c>Accept</c> says: equal errors get equal bodies for every client.
    /// </summary>
    private static void AnswerWhateverTheAccept(IServiceCollection services)
    {
        var framework = services.Single(descriptor => descriptor.ServiceType == typeof(IProblemDetailsWriter));
        services.Remove(framework);
        services.AddSingleton<IProblemDetailsWriter>(provider =>
            new AnyAcceptWriter((IProblemDetailsWriter)ActivatorUtilities.CreateInstance(provider, framework.ImplementationType!)));
    }

    private sealed class AnyAcceptWriter(IProblemDetailsWriter inner) : IProblemDetailsWriter
    {
        public bool CanWrite(ProblemDetailsContext context) => true;

        public ValueTask WriteAsync(ProblemDetailsContext context) => inner.WriteAsync(context);
    }

    private static void AddTraceId(ProblemDetailsContext context)
    {
        context.ProblemDetails.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        // A path segment shaped like an access token (a client put its token in the URL) is not echoed, as it is not logged.
        context.ProblemDetails.Instance ??= RequestTargetRedaction.RedactPath(
            context.HttpContext.Features.Get<IHttpRequestFeature>()?.Path ?? context.HttpContext.Request.Path);
    }
}
