using System.Net;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Infrastructure;

public sealed class TelemetryTests
{
    [Fact]
    public async Task TraceContextFlowsToScalekitAndMatchesTheProblemsTraceId()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(404));

        var response = await fixture.Client(fixture.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"])).GetAsync("/organizations/org_1");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        var traceId = problem.GetProperty("traceId").GetString()!;
        var upstream = Assert.Single(fixture.Fake.Requests("GET", "/api/v1/organizations/org_1"));
        var traceparent = upstream.RequestMessage.Headers!["traceparent"].Single();
        Assert.Equal(traceId, traceparent.Split('-')[1]);
    }

    [Fact]
    public async Task WithAnOtlpEndpointTheRealProcessExportsTraces()
    {
        using var collector = new ScalekitFake();
        collector.Server.Given(Request.Create().WithPath("/v1/*").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200));
        using var scalekit = new ScalekitFake();

        await using var api = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        using var http = await api.ClientAsync("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/organizations/org_1")).StatusCode);

        // Each completes only once the collector received that signal (and fails the test after 10 s otherwise).
        await collector.WhenReceived("POST", "/v1/traces", 1);
        await collector.WhenReceived("POST", "/v1/metrics", 1);
    }

    [Fact]
    public async Task AnAccessTokenSentInThePathIsRedactedFromExportedTraces()
    {
        using var collector = new ScalekitFake();
        collector.Server.Given(Request.Create().WithPath("/v1/*").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200));
        using var scalekit = new ScalekitFake();
        var misplaced = new Tokens(scalekit).User(Tokens.OrgA, ["organizations:read"]);

        await using var api = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        });
        using var http = await api.ClientAsync("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"/organizations/{misplaced}")).StatusCode);

        // The span's url.path is a protobuf string: its UTF-8 bytes appear as they are in the exported body.
        string Exported() => string.Concat(collector.Requests("POST", "/v1/traces").Select(e => System.Text.Encoding.UTF8.GetString(e.RequestMessage.BodyAsBytes ?? [])));
        await Poll.UntilAsync(() => Exported().Contains("/organizations/Redacted"), "the request's span is exported");
        Assert.DoesNotContain(misplaced.Split('.')[1], Exported());
        Assert.DoesNotContain(misplaced.Split('.')[2], Exported());
    }

    [Fact]
    public async Task OtelServiceNameNamesTheServiceInExportedTraces()
    {
        using var collector = new ScalekitFake();
        collector.Server.Given(Request.Create().WithPath("/v1/*").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200));
        using var scalekit = new ScalekitFake();

        await using var api = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_SERVICE_NAME"] = "organizations-api-under-test",
        });
        using var http = await api.ClientAsync("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/organizations/org_1")).StatusCode);

        // service.name is a protobuf string in the exported resource: its UTF-8 bytes appear as they are.
        string Exported() => string.Concat(collector.Requests("POST", "/v1/traces").Select(e => System.Text.Encoding.UTF8.GetString(e.RequestMessage.BodyAsBytes ?? [])));
        await Poll.UntilAsync(() => Exported().Contains("/organizations/"), "the request's span is exported");
        Assert.Contains("organizations-api-under-test", Exported());
    }
}
