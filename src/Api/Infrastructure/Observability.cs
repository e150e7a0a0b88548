using Api.Auth;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Api.Infrastructure;

public static class Observability
{
    /// <summary>
    /// Serilog from the <c>Serilog</c> section (readable console in Development, compact JSON elsewhere) and the
    /// API's own meter (<see cref="ApiMetrics"/>).
    /// </summary>
    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder)
    {
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<ApiMetrics>();
        var development = builder.Environment.IsDevelopment();
        // preserveStaticLogger: several hosts in one process (tests) must not share one global logger.
        builder.Services.AddSerilog(preserveStaticLogger: true, configureLogger: (services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext();
            if (development)
            {
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            }
            else
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
        });
        return builder;
    }

    /// <summary>One event per request: route, status, elapsed and who called (never the token or its header).</summary>
    public static IApplicationBuilder UseApiRequestLogging(this IApplicationBuilder app) =>
        app.UseSerilogRequestLogging(options =>
        {
            options.Logger = app.ApplicationServices.GetRequiredService<Serilog.ILogger>();
            options.MessageTemplate = "HTTP {RequestMethod} {Route} responded {StatusCode} in {Elapsed:0.0} ms";
            options.GetLevel = (http, _, exception) =>
                exception is not null || http.Response.StatusCode >= 500 ? LogEventLevel.Error
                : http.Request.Path.StartsWithSegments("/health") ? LogEventLevel.Verbose
                : LogEventLevel.Information;
            options.EnrichDiagnosticContext = (diagnostics, http) =>
            {
                diagnostics.Set("Route", (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)");
                if (http.User.Identity?.IsAuthenticated == true)
                {
                    diagnostics.Set("Subject", ScalekitClaims.SubjectOf(http.User));
                    diagnostics.Set("OrganizationId", ScalekitClaims.OrganizationIdOf(http.User));
                    diagnostics.Set("ClientId", ScalekitClaims.ClientIdOf(http.User));
                }
            };
        });
}
