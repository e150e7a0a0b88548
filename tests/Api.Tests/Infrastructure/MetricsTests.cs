using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using Api.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Infrastructure;

public sealed class MetricsTests
{
    private static MetricCollector<long> Collect(ApiFactory factory, string instrument) =>
        new(factory.Services.GetRequiredService<IMeterFactory>(), ApiMetrics.MeterName, instrument);

    private static long Count(MetricCollector<long> collector, params (string Tag, object? Value)[] tags) =>
        collector.GetMeasurementSnapshot()
            .Where(m => tags.All(t => m.Tags.TryGetValue(t.Tag, out var value) && Equals(value, t.Value)))
            .Sum(m => m.Value);

    [Fact]
    public async Task AccessDenialsAreCountedByReasonAndPolicy()
    {
        using var fixture = new ApiFixture();
        using var denials = Collect(fixture.Factory, ApiMetrics.AccessDenials);
        var tokens = fixture.Tokens;
        var expired = tokens.User(customize: Tokens.Expired);

        await fixture.Client().GetAsync($"/organizations/{Tokens.OrgA}");
        await fixture.Client(expired).GetAsync($"/organizations/{Tokens.OrgA}");
        await fixture.Client(tokens.User(permissions: ["organizations:read"])).PostAsJsonAsync("/organizations", new { displayName = "X" });
        await fixture.Client(tokens.User(Tokens.OrgA, ["organizations:read"])).GetAsync($"/organizations/{Tokens.OrgB}");
        await fixture.Client(tokens.User(Tokens.OrgA, ["organizations:read"])).GetAsync($"/organizations/{Tokens.OrgB}");

        Assert.Equal(1, Count(denials, ("reason", "token_missing"), ("policy", "ReadOrganization")));
        Assert.Equal(1, Count(denials, ("reason", "expired")));
        Assert.Equal(1, Count(denials, ("reason", "missing_grant"), ("policy", "CreateOrganization")));
        Assert.Equal(2, Count(denials, ("reason", "org_mismatch"), ("policy", "ReadOrganization")));
        Assert.Equal(5, Count(denials));
    }

    [Fact]
    public async Task UpstreamCallsAreCountedPerAttemptByRouteTemplateAndOutcome()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization("org_1");
        fixture.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_broken").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        using var calls = Collect(fixture.Factory, ApiMetrics.UpstreamCalls);
        var client = fixture.Client(fixture.Tokens.Machine(Tokens.OrgA, ["organizations:read_all", "organizations:create"]));

        await client.GetAsync("/organizations/org_1");
        await client.GetAsync("/organizations/org_missing");
        await client.GetAsync("/organizations/org_broken");
        await client.PostAsJsonAsync("/organizations", new { displayName = "Counted" });

        const string byId = "/api/v1/organizations/{id}";
        Assert.Equal(1, Count(calls, ("route", byId), ("outcome", "success"), ("status_code", 200)));
        Assert.Equal(1, Count(calls, ("route", byId), ("outcome", "client_error"), ("status_code", 404)));
        // One call and two retries, each counted.
        Assert.Equal(3, Count(calls, ("route", byId), ("outcome", "server_error"), ("status_code", 500)));
        Assert.Equal(1, Count(calls, ("route", "/api/v1/organizations"), ("method", "POST"), ("outcome", "success")));
        Assert.DoesNotContain(calls.GetMeasurementSnapshot(), m => m.Tags["route"]?.ToString()?.Contains("org_", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task AScalekitCallThePipelineTimesOutIsCountedAsATimeout()
    {
        using var fixture = new Faults.ShortTimeoutFixture();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.Fake.HangGets("/api/v1/organizations/org_hung", release.Task);
        using var calls = Collect(fixture.Factory, ApiMetrics.UpstreamCalls);
        var client = fixture.Client(fixture.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));
        try
        {
            await ProblemAssert.IsProblem(await client.GetAsync("/organizations/org_hung"), HttpStatusCode.GatewayTimeout);
        }
        finally
        {
            release.SetResult();
        }

        // Every attempt the pipeline cut short is a timeout: its caller was still waiting, so none is "cancelled".
        Assert.True(Count(calls, ("route", "/api/v1/organizations/{id}"), ("outcome", "timeout")) >= 1);
        Assert.Equal(Count(calls), Count(calls, ("outcome", "timeout")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnAnswerRefusedForItsSizeIsCountedAsAnInvalidResponse(bool chunked)
    {
        // The test's 2 s attempt timeout could end a 5 MiB read on a busy machine: a second, retried call was then
        // counted. Each attempt here may take as long as it needs, so the one call is the refused answer. No response
        // transformer: it ran Handlebars over the 5 MiB body (a minute under load) and changed nothing on the wire.
        using var fixture = new UnhurriedApiFixture();
        var huge = "{\"organization\":{\"id\":\"org_1\",\"display_name\":\"" + new string('a', 5 * 1024 * 1024) + "\"}}";
        var answer = Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(huge);
        fixture.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .RespondWith(chunked ? answer.WithHeader("Transfer-Encoding", "chunked") : answer);
        using var calls = Collect(fixture.Factory, ApiMetrics.UpstreamCalls);
        var client = fixture.Client(fixture.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));

        await ProblemAssert.IsProblem(await client.GetAsync("/organizations/org_1"), HttpStatusCode.BadGateway);

        Assert.Equal(1, Count(calls, ("route", "/api/v1/organizations/{id}"), ("method", "GET"), ("outcome", "invalid_response"), ("status_code", 200)));
        Assert.Equal(1, Count(calls));
    }

    [Fact]
    public async Task ManagementTokenRefreshesAreCountedByOutcome()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        using var refreshes = Collect(fixture.Factory, ApiMetrics.ManagementTokenRefreshes);
        var client = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]));

        await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.GetAsync($"/organizations/{Tokens.OrgA}")));
        fixture.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/*").UsingGet()
            .WithHeader("Authorization", $"Bearer {fixture.Fake.CurrentManagementToken}")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(401));
        fixture.Fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503));
        await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(1, Count(refreshes, ("outcome", "success")));
        Assert.Equal(1, Count(refreshes, ("outcome", "unavailable")));
    }

    [Fact]
    public async Task JwksRefreshesAreCountedByOutcome()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var tokens = new Tokens(fake);
        using var factory = new ApiFactory(fake, ApiFactory.NoJwksCooldown);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(permissions: ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        using var refreshes = Collect(factory, ApiMetrics.JwksRefreshes);
        var stranger = factory.CreateClient();
        stranger.DefaultRequestHeaders.Authorization = new("Bearer", tokens.Sign(tokens.BaseClaims("usr_x", Tokens.OrgA), new TestKey("kid-stranger")));

        await stranger.GetAsync($"/organizations/{Tokens.OrgA}");
        var failing = Guid.NewGuid();
        fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1).WithGuid(failing).RespondWith(Response.Create().WithStatusCode(500));
        await stranger.GetAsync($"/organizations/{Tokens.OrgA}");
        fake.Server.DeleteMapping(failing);
        fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"keys":[]}"""));
        await stranger.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(1, Count(refreshes, ("outcome", "success")));
        Assert.Equal(1, Count(refreshes, ("outcome", "failure")));
        Assert.Equal(1, Count(refreshes, ("outcome", "empty")));
    }
}
