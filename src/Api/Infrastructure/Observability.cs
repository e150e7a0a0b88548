using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Api.Auth;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Settings.Configuration;

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
        builder.Services.TryAddSingleton<ApiMetrics>();
        var development = builder.Environment.IsDevelopment();
        var levels = new LogLevelsCheck();
        // The logger is built inside Build(), before StartupChecks runs: a level Serilog cannot read ("Loud") crashed
        // the process there with a stack trace (exit 134). It is reported with the other configuration mistakes instead,
        // naming its key, as is a key Serilog would ignore (SerilogLevels).
        builder.Services.AddOptions<LogLevelsCheck>().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<LogLevelsCheck>>(services =>
            new LogLevelsValidator(services.GetRequiredService<IConfiguration>(), levels));
        builder.Services.AddOwnSection(SerilogLevels.Section);
        // preserveStaticLogger: several hosts in one process (tests) must not share one global logger.
        builder.Services.AddSerilog(preserveStaticLogger: true, configureLogger: (services, logger) =>
        {
            // Only levels are read from configuration (sinks are chosen below). Naming the assemblies skips the default
            // scan, which opened every DLL beside the app and loaded each Serilog sink package it found.
            try
            {
                logger.ReadFrom.Configuration(builder.Configuration, new ConfigurationReaderOptions(typeof(ConsoleLoggerConfigurationExtensions).Assembly));
            }
            catch (InvalidOperationException)
            {
                levels.Unreadable = true;
            }

            // No query-string value, nor a token-shaped path segment, reaches a log event: it may be an access token.
            logger.ReadFrom.Services(services).Enrich.FromLogContext().Enrich.With<RequestTargetRedaction>();
            if (development)
            {
                // A port in use is reported in one line with what to do (StartupChecks); the host's event for it put a
                // 25-line stack trace above that line on the first run's console.
                logger.Filter.ByExcluding(IsReportedStartFailure);
                // Text is written as it is there, so a caller's line break or terminal escape is escaped first.
                logger.Enrich.With<ControlCharacterEscaping>();
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            }
            else
            {
                // Formatted on the logging thread, written to stdout in 64 KB buffers by a background loop.
                logger.WriteTo.Sink(new BufferedConsoleSink(new RenderedCompactJsonFormatter()));
            }
        });
        CategoryCachingLoggerFactory.Decorate(builder.Services);
        AddOpenTelemetry(builder);
        return builder;
    }

    private static bool IsReportedStartFailure(LogEvent logEvent) =>
        logEvent is { Exception: { } exception, MessageTemplate.Text: "Hosting failed to start" }
        && StartupChecks.ReportsStartFailure(exception);

    // Traces and metrics (ASP.NET Core, HttpClient, our own meter), exported over OTLP. The OpenTelemetry convention
    // is an environment variable read at startup; without it nothing would be exported, so nothing is collected:
    // recording spans and histograms nobody reads cost several microseconds and a few hundred bytes per request.
    // Trace context flows to Scalekit through HttpClient's traceparent header either way (ASP.NET Core starts an
    // activity per request), and the meters stay readable by dotnet-counters.
    private static void AddOpenTelemetry(IHostApplicationBuilder builder)
    {
        var endpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (!string.IsNullOrWhiteSpace(endpoint))
        {
            // The exporter ignores an endpoint or protocol it cannot read and uses its defaults (localhost): a typo
            // started an API that exported nothing, silently. The value is not echoed: it may carry credentials.
            var protocol = builder.Configuration["OTEL_EXPORTER_OTLP_PROTOCOL"];
            var check = builder.Services.AddOptions<OtlpExportCheck>()
                .Validate(_ => Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps),
                    "OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http:// or https:// URL, e.g. http://otel-collector:4317.")
                .Validate(_ => string.IsNullOrEmpty(protocol) || protocol is "grpc" or "http/protobuf",
                    "OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf.")
                .ValidateOnStart();
            // The exporter threw on headers it cannot split ("Headers provided in an invalid format.", a stack trace naming
            // no setting) while the configuration was being checked. Their values are the collector's credentials: never
            // echoed. With such headers the exporter is not added at all: the process stops at the check instead.
            var headersReadable = true;
            foreach (var key in OtlpHeaderSettings)
            {
                var readable = AreOtlpHeaders(builder.Configuration[key]);
                check.Validate(_ => readable, $"{key} must be comma-separated name=value pairs, e.g. Authorization=Bearer%20<token>,x-tenant=acme.");
                headersReadable &= readable;
            }

            if (headersReadable)
            {
                AddOtlpExport(builder);
            }
        }
    }

    private static readonly string[] OtlpHeaderSettings =
        ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS"];

    // As the exporter reads them: URL-decoded, split at commas, each pair a name, '=' and a value.
    private static bool AreOtlpHeaders(string? headers) =>
        string.IsNullOrEmpty(headers)
        || Uri.UnescapeDataString(headers).Split(',').All(pair => pair.Split('=', 2) is [var name, _] && !string.IsNullOrWhiteSpace(name));

    // Its own method, so the OpenTelemetry assemblies are loaded (when this is compiled) only if they are used.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddOtlpExport(IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry()
            // The application name is only the default: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read again after
            // it, win (a resource added later replaces the same attribute), as the OpenTelemetry specification says.
            .ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName).AddEnvironmentVariableDetector())
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(options =>
                {
                    options.Filter = http => !http.Request.Path.StartsWithSegments("/health");
                    // url.query is redacted by the instrumentation itself; a token-shaped path segment is redacted here.
                    options.EnrichWithHttpRequest = (activity, request) =>
                    {
                        var path = request.Path.Value ?? "";
                        if (RequestTargetRedaction.RedactPath(path) is var redacted && !ReferenceEquals(redacted, path))
                        {
                            activity.SetTag("url.path", redacted);
                        }
                    };
                })
                .AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddMeter(ApiMetrics.MeterName, ValidatedTokenCache.MeterName))
            .UseOtlpExporter();
    }

    /// <summary>One event per request: route, status, elapsed and who called (never the token or its header).</summary>
    public static IApplicationBuilder UseApiRequestLogging(this IApplicationBuilder app)
    {
        app.UseSerilogRequestLogging(options =>
        {
            options.Logger = app.ApplicationServices.GetRequiredService<Serilog.ILogger>();
            options.MessageTemplate = "HTTP {RequestMethod} {Route} responded {StatusCode} in {Elapsed:0.0} ms";
            options.GetLevel = (http, _, exception) =>
                exception is not null ? LogEventLevel.Error
                // 501 answers a transfer coding the client chose: its mistake, not this service's failure.
                : http.Response.StatusCode == StatusCodes.Status501NotImplemented ? LogEventLevel.Warning
                : http.Response.StatusCode >= 500 ? LogEventLevel.Error
                : http.Request.Path.StartsWithSegments("/health") ? LogEventLevel.Verbose
                : LogEventLevel.Information;
            options.EnrichDiagnosticContext = (diagnostics, http) =>
            {
                if (http.User.Identity?.IsAuthenticated == true)
                {
                    diagnostics.Set("Subject", ScalekitClaims.SubjectOf(http.User));
                    diagnostics.Set("OrganizationId", ScalekitClaims.OrganizationIdOf(http.User));
                    diagnostics.Set("ClientId", ScalekitClaims.ClientIdOf(http.User));
                }
            };
        });

        // The route is taken on the way in (routing already ran): on the way out the exception handler may have
        // cleared the endpoint, and the event of a failed request would not say which route failed.
        var context = app.ApplicationServices.GetRequiredService<IDiagnosticContext>();
        return app.Use((http, next) =>
        {
            context.Set("Route", http.RouteTemplateOf());
            return next(http);
        });
    }
}

/// <summary>The OTLP exporter's settings, checked at startup (the values are read from configuration directly).</summary>
public sealed class OtlpExportCheck;

/// <summary>Whether Serilog could read the configured levels; the process stops at startup when it could not.</summary>
public sealed class LogLevelsCheck
{
    public bool Unreadable { get; set; }
}
