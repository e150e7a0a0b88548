using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace Api.Infrastructure;

public static class ProblemDetailsSetup
{
    /// <summary>Every non-2xx answer is application/problem+json with a traceId; exceptions map in one place.</summary>
    public static IServiceCollection AddApiProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = AddTraceId);
        services.AddExceptionHandler<ApiExceptionHandler>();
        // Malformed bodies raise BadHttpRequestException (mapped to 400/413/415) in every environment.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }

    private static void AddTraceId(ProblemDetailsContext context)
    {
        context.ProblemDetails.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        context.ProblemDetails.Instance ??= context.HttpContext.Features.Get<IHttpRequestFeature>()?.Path ?? context.HttpContext.Request.Path;
    }
}
