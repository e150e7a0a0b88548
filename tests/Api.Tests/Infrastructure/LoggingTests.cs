using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Types;

namespace Api.Tests.Infrastructure;

public sealed class LoggingTests
{
    [Fact]
    public async Task NeitherBearerTokensNorTheClientSecretReachTheLogs()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read", "organizations:create"]);
        var client = fixture.Client(token);

        await client.GetAsync($"/organizations/{Tokens.OrgA}");
        await client.PostAsJsonAsync("/organizations", new { displayName = "Logged" });
        await fixture.Client("tampered." + token).GetAsync($"/organizations/{Tokens.OrgA}");

        var logs = fixture.Factory.Logs.AllText();
        Assert.Contains("/organizations/{id}", logs);
        Assert.DoesNotContain(token.Split('.')[1], logs);
        Assert.DoesNotContain(token.Split('.')[2], logs);
        Assert.DoesNotContain(ScalekitFake.ClientSecret, logs);
        Assert.DoesNotContain(fixture.Fake.CurrentManagementToken, logs);
        Assert.DoesNotContain("Authorization", logs, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task NoHeaderValueOfAnyScalekitCallReachesTheLogsEvenAtVerbose()
    {
        using var fake = new ScalekitFake();
        // Values a real upstream may answer with (a session cookie): the JWKS and the token endpoint both send one.
        const string cookie = "session=upstream-cookie-never-logged";
        fake.Server.Given(Request.Create().WithPath("/keys").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(_ => WithCookie(ScalekitFake.Json(200, new { keys = fake.Keys.Select(k => k.ToJwk()).ToArray() }), cookie)));
        fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(request => WithCookie(fake.IssueManagementToken(request), cookie)));
        fake.AddOrganization(Tokens.OrgA);
        // An operator looking into a Scalekit problem turns every HTTP client category to its most detailed level.
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Override:System.Net.Http.HttpClient"] = "Verbose",
            ["Serilog:MinimumLevel:Override:Microsoft.Extensions.Http"] = "Verbose",
        });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var logs = factory.Logs.AllText();
        // The header events are written (names, each value "*"), for the token endpoint and the JWKS alike.
        Assert.Contains("System.Net.Http.HttpClient.Scalekit.OAuth", logs);
        Assert.Contains("System.Net.Http.HttpClient.Scalekit.Jwks", logs);
        Assert.Contains("Set-Cookie: *", logs);
        Assert.DoesNotContain("upstream-cookie-never-logged", logs);
        Assert.DoesNotContain(fake.CurrentManagementToken, logs);
        Assert.DoesNotContain(ScalekitFake.ClientSecret, logs);
    }

    private static ResponseMessage WithCookie(ResponseMessage response, string cookie)
    {
        response.Headers!["Set-Cookie"] = new WireMockList<string>(cookie);
        return response;
    }

    [Fact]
    public async Task AnAccessTokenSentInTheQueryStringIsRedactedFromTheFrameworksRequestEvents()
    {
        using var fake = new ScalekitFake();
        // An operator looking into a problem turns ASP.NET Core's own request events on.
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Information" });
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]);

        var response = await factory.CreateClient().GetAsync($"/organizations/{Tokens.OrgA}?access_token={token}&pageSize=5");

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        var logs = factory.Logs.AllText();
        Assert.Contains("Request starting", logs);
        Assert.Contains("?access_token=Redacted&pageSize=Redacted", logs);
        Assert.DoesNotContain(token.Split('.')[1], logs);
        Assert.DoesNotContain(token.Split('.')[2], logs);
    }

    [Theory]
    [InlineData("/organizations/{0}")]
    [InlineData("/organizations/external/{0}")]
    [InlineData("/{0}/organizations")]
    public async Task AnAccessTokenSentInThePathIsRedactedFromRequestEvents(string target)
    {
        using var fake = new ScalekitFake();
        // ASP.NET Core's own request events turned on as well: they carry the path too.
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Information" });
        var tokens = new Tokens(fake);
        var misplaced = tokens.User(Tokens.OrgA, ["organizations:read"]);

        // A client bug: the token went into the URL as well as the header.
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(Tokens.OrgA, ["organizations:read"]));
        var response = await client.GetAsync(string.Format(target, misplaced));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        var logs = factory.Logs.AllText();
        Assert.Contains("Request starting", logs);
        Assert.Contains(string.Format(target, "Redacted"), logs);
        Assert.DoesNotContain(misplaced.Split('.')[1], logs);
        Assert.DoesNotContain(misplaced.Split('.')[2], logs);
    }

    [Theory]
    [InlineData("/organizations/Bearer%20{0}", "/organizations/Bearer Redacted")]
    [InlineData("/organizations/org_1;access_token={0}", "/organizations/org_1;access_token=Redacted")]
    [InlineData("/organizations/external/access_token={0}", "/organizations/external/access_token=Redacted")]
    public async Task AnAccessTokenInsideAPathSegmentIsRedactedFromRequestEvents(string target, string logged)
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Information" });
        var tokens = new Tokens(fake);
        var misplaced = tokens.User(Tokens.OrgA, ["organizations:read"]);

        // The whole header pasted into the URL, or the token as a matrix parameter: the rest of the segment is kept.
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(Tokens.OrgA, ["organizations:read"]));
        var response = await client.GetAsync(string.Format(target, misplaced));

        await ProblemAssert.IsProblem(response, response.StatusCode);
        var logs = factory.Logs.AllText();
        Assert.Contains("Request starting", logs);
        Assert.Contains(logged, logs);
        Assert.DoesNotContain(misplaced.Split('.')[1], logs);
        Assert.DoesNotContain(misplaced.Split('.')[2], logs);
    }

    [Theory]
    [InlineData("/organizations/external/crm.acme.com")]
    [InlineData("/organizations/external/eyes.on.you")]
    [InlineData("/organizations/external/journey-planner-service.v2.prod")]
    [InlineData("/openapi/v1.json")]
    public async Task PathsThatOnlyLookDottedAreLoggedAsSent(string target)
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Information" });

        await factory.CreateClient().GetAsync(target);

        Assert.Contains(target, factory.Logs.AllText());
    }

    [Fact]
    public async Task ACallersPathCannotForgeLinesOrTerminalEscapesOnTheDevelopmentConsole()
    {
        using var fake = new ScalekitFake();
        // An operator looking into a problem on their machine turns ASP.NET Core's own request and routing events on.
        await using var api = ApiProcess.StartAgainst(fake, new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Serilog__MinimumLevel__Override__Microsoft.AspNetCore"] = "Debug",
        });
        using var http = await api.ClientAsync("not-a-token");

        // Kestrel decodes %0A and %1B in the path: a line break, then what looks like an event of its own, in red.
        var response = await http.GetAsync("/no-such-route%0A%5B09:00:00%20INF%5D%20Forged%20event%1B%5B31m");

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        await api.WaitForLineAsync("Request finished", TimeSpan.FromSeconds(10));
        Assert.Contains("/no-such-route\\n[09:00:00 INF] Forged event\\u001B[31m", api.Output);
        Assert.DoesNotContain(api.Output.Split('\n'), line => line.StartsWith("[09:00:00 INF] Forged", StringComparison.Ordinal));
        Assert.DoesNotContain('\u001B', api.Output);
    }

    [Fact]
    public async Task KestrelsBadRequestEventsNameTheFaultButNotTheRequestBytesThatHoldAToken()
    {
        using var fake = new ScalekitFake();
        // An operator looking into 400s nobody can explain turns Kestrel's bad-request events on (Debug).
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Debug" });
        var address = factory.StartOnLoopback();
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]);

        // A client that puts a space before the colon, and one that sends its token in a malformed request line.
        var header = await Loopback.SendRawAsync(address,
            $"GET /organizations/{Tokens.OrgA} HTTP/1.1\r\nHost: localhost\r\nAuthorization : Bearer {token}\r\nConnection: close\r\n\r\n");
        var line = await Loopback.SendRawAsync(address,
            $"GET /organizations?access_token={token} HTTP/1.1 junk\r\nHost: localhost\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400 ", header, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", line, StringComparison.Ordinal);
        await Poll.UntilAsync(() => factory.Logs.AllText() is var logs && logs.Contains("Invalid request header") && logs.Contains("Invalid request line"),
            "Kestrel logs both bad requests");
        var logs = factory.Logs.AllText();
        // Kestrel quotes at most 128 bytes of the request: the token's header segment and the start of its claims.
        Assert.DoesNotContain(token[..40], logs);
        Assert.DoesNotContain("access_token", logs);
    }

    [Fact]
    public async Task RequestLogsCarryTheRouteStatusAndCaller()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);
        await fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"])).GetAsync($"/organizations/{Tokens.OrgA}");

        var request = Assert.Single(fixture.Factory.Logs.Events, e => e.Properties.ContainsKey("Route") && e.Properties.ContainsKey("StatusCode"));
        Assert.Equal("200", request.Properties["StatusCode"].ToString());
        Assert.Equal($"\"{Tokens.OrgA}\"", request.Properties["OrganizationId"].ToString());
        Assert.StartsWith("\"usr_", request.Properties["Subject"].ToString());
        Assert.True(request.Properties.ContainsKey("Elapsed"));
    }

    [Fact]
    public void EachLoggerCategoryIsBuiltOnceAndStillWritesToSerilog()
    {
        using var fixture = new ApiFixture();
        var factory = fixture.Factory.Services.GetRequiredService<ILoggerFactory>();

        var first = factory.CreateLogger("Api.Tests.Category");
        Assert.Same(first, factory.CreateLogger("Api.Tests.Category"));
        Assert.NotSame(first, factory.CreateLogger("Api.Tests.Other"));

        first.LogInformation("Logged through the cached logger {Marker}", 4242);
        Assert.Contains(fixture.Factory.Logs.Events, e => e.Properties.TryGetValue("Marker", out var marker) && marker.ToString() == "4242");
    }

    [Fact]
    public async Task TheRequestEventNamesTheRouteEvenWhenTheExceptionHandlerAnswered()
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Scalekit:ClientSecret"] = "wrong-secret-value" });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));

        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(System.Net.HttpStatusCode.BadGateway, response.StatusCode);
        var request = Assert.Single(factory.Logs.Events, e => e.Properties.ContainsKey("Elapsed"));
        Assert.Equal("502", request.Properties["StatusCode"].ToString());
        Assert.Equal("\"/organizations/{id}\"", request.Properties["Route"].ToString());
    }

    // The list and create routes were mapped as "/" in the group: their template, the http.route of traces and
    // metrics and the Route of the logs read "/organizations/", a path no caller sends and the OpenAPI document lacks.
    [Fact]
    public async Task TheListAndCreateRoutesAreNamedAsCallersSendThem()
    {
        using var fixture = new ApiFixture();
        var client = fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read_all", "organizations:create"]));
        var httpRoutes = new System.Collections.Concurrent.ConcurrentQueue<object?>();
        using var listener = HttpRoutesOf(fixture.Factory.Services, httpRoutes);

        var listed = await client.GetAsync("/organizations");
        var created = await client.PostAsJsonAsync("/organizations", new { displayName = "Initech" });
        var listedWithSlash = await client.GetAsync("/organizations/");

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Created, HttpStatusCode.OK],
            new[] { listed.StatusCode, created.StatusCode, listedWithSlash.StatusCode });
        var routes = fixture.Factory.Logs.Events.Where(e => e.Properties.ContainsKey("Elapsed")).Select(e => e.Properties["Route"].ToString());
        Assert.Equal(["\"/organizations\"", "\"/organizations\"", "\"/organizations\""], routes);
        // The framework records a request's duration as the request ends, after its answer may have reached the client.
        await Poll.UntilAsync(() => httpRoutes.Count == 3, "the three requests' durations are recorded");
        Assert.Equal(["/organizations", "/organizations", "/organizations"], httpRoutes);
    }

    /// <summary>The <c>http.route</c> of each <c>http.server.request.duration</c> this host records.</summary>
    private static System.Diagnostics.Metrics.MeterListener HttpRoutesOf(IServiceProvider services, System.Collections.Concurrent.ConcurrentQueue<object?> routes)
    {
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == "http.server.request.duration")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "http.route")
                {
                    routes.Enqueue(tag.Value);
                }
            }
        });
        listener.Start();
        return listener;
    }

    [Fact]
    public async Task ARequestNoRouteMatchesIsLoggedAsUnmatched()
    {
        using var fixture = new ApiFixture();

        await fixture.Client().GetAsync("/no/such/route");

        var request = Assert.Single(fixture.Factory.Logs.Events, e => e.Properties.ContainsKey("Elapsed"));
        Assert.Equal("404", request.Properties["StatusCode"].ToString());
        Assert.Equal("\"(unmatched)\"", request.Properties["Route"].ToString());
    }
}
