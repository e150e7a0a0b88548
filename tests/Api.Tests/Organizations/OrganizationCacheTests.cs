using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Api.Organizations;
using Api.Tests.Faults;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Organizations;

public sealed class OrganizationCacheTests
{
    private const string OrganizationPath = $"/api/v1/organizations/{Tokens.OrgA}";

    private static HttpClient Member(ApiFixture fixture) => fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]));

    private static int UpstreamReads(ApiFixture fixture) => fixture.Fake.Requests("GET", OrganizationPath).Count;

    [Fact]
    public async Task ConcurrentReadsOfOneOrganizationShareOneUpstreamCall()
    {
        using var fixture = new CachedApiFixture();
        // A slow Scalekit keeps the first read in flight while the others arrive.
        var organization = JsonSerializer.Serialize(new { organization = new { id = Tokens.OrgA, display_name = "Acme" } });
        fixture.Fake.Server.Given(Request.Create().WithPath(OrganizationPath).UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody(organization).WithDelay(TimeSpan.FromMilliseconds(500)));
        var client = Member(fixture);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync($"/organizations/{Tokens.OrgA}")));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.Equal(1, UpstreamReads(fixture));
    }

    [Fact]
    public async Task RepeatedReadsWithinTheTtlDoNotCallScalekitAgain()
    {
        using var fixture = new CachedApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = Member(fixture);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        }

        Assert.Equal(1, UpstreamReads(fixture));
    }

    [Fact]
    public async Task WithTheTtlAtZeroEveryReadGoesUpstream()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var client = Member(fixture);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        }

        Assert.Equal(3, UpstreamReads(fixture));
    }

    [Fact]
    public async Task AfterInvalidationTheNextReadGoesUpstreamAndSeesTheChange()
    {
        using var fixture = new CachedApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA, displayName: "Before");
        var client = Member(fixture);
        await client.GetAsync($"/organizations/{Tokens.OrgA}");
        fixture.Fake.AddOrganization(Tokens.OrgA, displayName: "After");

        await fixture.Factory.Services.GetRequiredService<OrganizationCache>().InvalidateAsync(Tokens.OrgA, CancellationToken.None);
        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("After", body.RootElement.GetProperty("displayName").GetString());
        Assert.Equal(2, UpstreamReads(fixture));
    }

    [Fact]
    public async Task AFailedReadIsNotCachedTheNextReadTriesScalekitAgain()
    {
        using var fixture = new CachedApiFixture();
        fixture.Fake.Server.Given(Request.Create().WithPath(OrganizationPath).UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        var client = Member(fixture);
        Assert.Equal(HttpStatusCode.BadGateway, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        var failedCalls = UpstreamReads(fixture);

        fixture.Fake.Reset();
        fixture.Fake.AddOrganization(Tokens.OrgA);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.True(failedCalls >= 1);
        Assert.Equal(1, UpstreamReads(fixture));
    }

    [Fact]
    public async Task ANotFoundIsNotCached()
    {
        using var fixture = new CachedApiFixture();
        var client = Member(fixture);

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        Assert.Equal(2, UpstreamReads(fixture));
    }

    [Fact]
    public async Task ACachedOrganizationIsStillRefusedToCallersOfAnotherOrganization()
    {
        using var fixture = new CachedApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        Assert.Equal(HttpStatusCode.OK, (await Member(fixture).GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        var outsider = fixture.Client(fixture.Tokens.User(Tokens.OrgB, ["organizations:read"]));
        var withoutGrant = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:create"]));

        await ProblemAssert.IsProblem(await outsider.GetAsync($"/organizations/{Tokens.OrgA}"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblem(await withoutGrant.GetAsync($"/organizations/{Tokens.OrgA}"), HttpStatusCode.Forbidden);
        Assert.Equal(1, UpstreamReads(fixture));
    }

    public static TheoryData<string, string, string?> Changes => new()
    {
        { "PATCH", $"/organizations/{Tokens.OrgA}", """{"displayName":"Acme Renamed"}""" },
        { "PATCH", $"/organizations/{Tokens.OrgA}/settings", """{"features":[{"name":"sso","enabled":false}]}""" },
        { "DELETE", $"/organizations/{Tokens.OrgA}", null },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task TheApisOwnChangesInvalidateTheCachedOrganization(string method, string path, string? body)
    {
        using var fixture = new CachedApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var admin = fixture.Client(fixture.Tokens.User(Tokens.OrgA,
            ["organizations:read", "organizations:update", "organizations:delete"], roles: ["admin"]));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.Equal(1, UpstreamReads(fixture));

        using var change = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        var changed = await admin.SendAsync(change);
        Assert.True(changed.IsSuccessStatusCode, $"{method} {path}: {(int)changed.StatusCode} {await changed.Content.ReadAsStringAsync()}");
        var readsBefore = UpstreamReads(fixture);

        var after = await admin.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(readsBefore + 1, UpstreamReads(fixture));
        Assert.Equal(method == "DELETE" ? HttpStatusCode.NotFound : HttpStatusCode.OK, after.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task AChangeThatFailedUpstreamStillInvalidatesBecauseScalekitMayHaveAppliedIt(string method, string path, string? body)
    {
        using var fixture = new CachedApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var admin = fixture.Client(fixture.Tokens.User(Tokens.OrgA,
            ["organizations:read", "organizations:update", "organizations:delete"], roles: ["admin"]));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        fixture.Fake.Server.Given(Request.Create().WithPath($"/api/v1{path}").UsingMethod(method)).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));

        using var change = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        Assert.Equal(HttpStatusCode.BadGateway, (await admin.SendAsync(change)).StatusCode);
        var readsBefore = UpstreamReads(fixture);

        await admin.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(readsBefore + 1, UpstreamReads(fixture));
    }

    [Fact]
    public async Task TheSharedScalekitCallStaysOnTheTraceOfTheRequestThatStartedIt()
    {
        using var fixture = new CachedApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}");
        request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");

        Assert.Equal(HttpStatusCode.OK, (await Member(fixture).SendAsync(request)).StatusCode);

        var upstream = Assert.Single(fixture.Fake.Requests("GET", OrganizationPath));
        Assert.Equal(traceId, upstream.RequestMessage.Headers!["traceparent"].Single().Split('-')[1]);
    }
    [Fact]
    public async Task HitsHandOutTheCachedOrganizationItselfNotACopy()
    {
        using var fixture = new CachedApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var cache = fixture.Factory.Services.GetRequiredService<OrganizationCache>();

        var first = await cache.GetAsync(Tokens.OrgA, CancellationToken.None);
        var second = await cache.GetAsync(Tokens.OrgA, CancellationToken.None);

        // What is cached is immutable, so no hit pays for a copy (HybridCache copies what it cannot tell is immutable).
        Assert.Same(first, second);
        Assert.Equal(1, UpstreamReads(fixture));
    }

    [Fact]
    public async Task AReadThatJoinedAnotherRequestsScalekitCallLinksItsTraceToThatRequest()
    {
        const string starterTrace = "5bf92f3577b34da6a3ce929d0e0e4736";
        const string joinerTrace = "6bf92f3577b34da6a3ce929d0e0e4736";
        const string callerSpan = "00f067aa0ba902b7";
        var stopped = new ConcurrentBag<Activity>();
        static bool Ours(ActivityTraceId trace) => trace.ToHexString() is starterTrace or joinerTrace;
        // Only this test's requests are recorded: the listener sees every host in the process.
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                Ours(options.Parent.TraceId) ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            // The API's own request spans, children of the caller's span (the fake, an ASP.NET Core host too, records
            // its side of the Scalekit calls under the same trace).
            ActivityStopped = activity =>
            {
                if (Ours(activity.TraceId) && activity.ParentSpanId.ToHexString() == callerSpan)
                {
                    stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var joins = new JoinCounter();
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        using var factory = new ApiFactory(fake, ApiFactory.UnhurriedSettings(("Caching:OrganizationTtl", "00:00:30")), joins.Decorate);
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.HoldNextOrganizationRead(arrived, release.Task);
        HttpRequestMessage Traced(string traceId)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}");
            request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
            return request;
        }

        HttpResponseMessage[] answers;
        try
        {
            var starter = client.SendAsync(Traced(starterTrace));
            await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var joiner = client.SendAsync(Traced(joinerTrace));
            await joins.Reached(2);
            release.SetResult();
            answers = await Task.WhenAll(starter, joiner);
        }
        finally
        {
            release.TrySetResult();
        }

        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.StatusCode));
        // One Scalekit call, under the trace of the request that started it ...
        var upstream = Assert.Single(fake.Requests("GET", OrganizationPath));
        Assert.Equal(starterTrace, upstream.RequestMessage.Headers!["traceparent"].Single().Split('-')[1]);
        // ... and the request that joined it links to that request, so its trace shows where its answer came from.
        await Poll.UntilAsync(() => stopped.Count >= 2, "both requests' activities end");
        var starterSpan = Assert.Single(stopped, activity => activity.TraceId.ToHexString() == starterTrace);
        var joinerSpan = Assert.Single(stopped, activity => activity.TraceId.ToHexString() == joinerTrace);
        var link = Assert.Single(joinerSpan.Links);
        Assert.Equal(starterSpan.TraceId, link.Context.TraceId);
        Assert.Equal(starterSpan.SpanId, link.Context.SpanId);
        Assert.Empty(starterSpan.Links);
    }
}
