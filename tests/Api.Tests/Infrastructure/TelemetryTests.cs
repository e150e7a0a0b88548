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
    public async Task AnIncomingTraceparentContinuesIntoTheScalekitCallButItsBaggageStaysHere()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);

        var response = await fixture.Client(fixture.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"])).SendAsync(WithCallersContext());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertOnlyTheTraceContextReached(fixture.Fake);
    }

    [Fact]
    public async Task WithAnOtlpEndpointTheCallersBaggageStillStaysHere()
    {
        // OpenTelemetry's own propagators (trace context and baggage by default) join in once it is switched on.
        await using var exporting = new ExportingApi();
        exporting.Scalekit.AddOrganization(Tokens.OrgA);
        using var http = await exporting.Process.ClientAsync(new Tokens(exporting.Scalekit).Machine(Tokens.OrgA, ["organizations:read_all"]));

        var response = await http.SendAsync(WithCallersContext());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertOnlyTheTraceContextReached(exporting.Scalekit);
    }

    private const string CallersTraceId = "0af7651916cd43dd8448eb211c80319c";

    // Baggage is whatever the caller's side put in it (user ids, emails, session data): it is not Scalekit's business.
    private static HttpRequestMessage WithCallersContext()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}");
        request.Headers.Add("traceparent", $"00-{CallersTraceId}-b7ad6b7169203331-01");
        request.Headers.Add("baggage", "user.email=alice%40example.com,session=s3cr3t-baggage-value");
        request.Headers.Add("Correlation-Context", "legacy=s3cr3t-correlation-value");
        return request;
    }

    private static void AssertOnlyTheTraceContextReached(ScalekitFake scalekit)
    {
        var exchanges = scalekit.Requests("GET", $"/api/v1/organizations/{Tokens.OrgA}").Concat(scalekit.Requests("POST", "/oauth/token")).ToList();
        Assert.Equal(2, exchanges.Count);
        foreach (var headers in exchanges.Select(e => e.RequestMessage.Headers!))
        {
            Assert.Equal(CallersTraceId, headers["traceparent"].Single().Split('-')[1]);
            var sent = string.Join('\n', headers.Select(h => $"{h.Key}: {string.Join(',', h.Value)}"));
            Assert.DoesNotContain("s3cr3t", sent);
            Assert.DoesNotContain("alice", sent);
        }
    }

    [Fact]
    public async Task WithAnOtlpEndpointTheRealProcessExportsTraces()
    {
        await using var exporting = new ExportingApi(new() { ["OTEL_METRIC_EXPORT_INTERVAL"] = "200" });
        using var http = await exporting.Process.ClientAsync("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/organizations/org_1")).StatusCode);

        // Each completes only once the collector received that signal (and fails the test after 10 s otherwise).
        await exporting.Collector.WhenReceived("POST", "/v1/traces", 1);
        await exporting.Collector.WhenReceived("POST", "/v1/metrics", 1);
    }

    [Fact]
    public async Task AnAccessTokenSentInThePathIsRedactedFromExportedTraces()
    {
        await using var exporting = new ExportingApi();
        var misplaced = new Tokens(exporting.Scalekit).User(Tokens.OrgA, ["organizations:read"]);
        using var http = await exporting.Process.ClientAsync("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"/organizations/{misplaced}")).StatusCode);

        await Poll.UntilAsync(() => exporting.ExportedTraces().Contains("/organizations/Redacted"), "the request's span is exported");
        Assert.DoesNotContain(misplaced.Split('.')[1], exporting.ExportedTraces());
        Assert.DoesNotContain(misplaced.Split('.')[2], exporting.ExportedTraces());
    }

    [Fact]
    public async Task OtelServiceNameNamesTheServiceInExportedTraces()
    {
        await using var exporting = new ExportingApi(new() { ["OTEL_SERVICE_NAME"] = "organizations-api-under-test" });
        using var http = await exporting.Process.ClientAsync("not-a-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/organizations/org_1")).StatusCode);

        await Poll.UntilAsync(() => exporting.ExportedTraces().Contains("/organizations/"), "the request's span is exported");
        Assert.Contains("organizations-api-under-test", exporting.ExportedTraces());
    }

    /// <summary>The real process exporting over OTLP/HTTP (protobuf) to a fake collector that accepts every signal.</summary>
    private sealed class ExportingApi : IAsyncDisposable
    {
        public ExportingApi(Dictionary<string, string>? settings = null)
        {
            Collector.Server.Given(Request.Create().WithPath("/v1/*").UsingPost()).AtPriority(1)
                .RespondWith(Response.Create().WithStatusCode(200));
            var environment = new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Collector.Url,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            };
            foreach (var (key, value) in settings ?? [])
            {
                environment[key] = value;
            }

            Process = ApiProcess.StartAgainst(Scalekit, environment);
        }

        public ScalekitFake Collector { get; } = new();

        public ScalekitFake Scalekit { get; } = new();

        public ApiProcess Process { get; }

        // Strings in the exported protobuf (url.path, service.name) appear as their UTF-8 bytes.
        public string ExportedTraces() => string.Concat(Collector.Requests("POST", "/v1/traces")
            .Select(e => System.Text.Encoding.UTF8.GetString(e.RequestMessage.BodyAsBytes ?? [])));

        public async ValueTask DisposeAsync()
        {
            await Process.DisposeAsync();
            Scalekit.Dispose();
            Collector.Dispose();
        }
    }
}
