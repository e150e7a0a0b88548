using Api.Auth;
using Serilog;
using Serilog.Configuration;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Api.Infrastructure;

public static class Observability
{
    /// <summary>Serilog from the <c>Serilog</c> section: readable console in Development, compact JSON elsewhere.</summary>
    public static IHostApplicationBuilder AddObservability(this IHostApplicationBuilder builder)
    {
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
                // Batched on a background thread; past QueueLimit events are dropped rather than slowing requests.
                logger.WriteTo.Sink(new BatchedConsoleSink(new RenderedCompactJsonFormatter()), new BatchingOptions
                {
                    BatchSizeLimit = 1000,
                    BufferingTimeLimit = TimeSpan.FromMilliseconds(100),
                    QueueLimit = 100_000,
                });
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
