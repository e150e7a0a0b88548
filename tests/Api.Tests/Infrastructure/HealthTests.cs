using System.Net;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Infrastructure;

public sealed class HealthTests
{
    [Fact]
    public async Task ReadyIsHealthyWhenKeysAndAManagementTokenAreAvailable()
    {
        using var fixture = new ApiFixture();
        var client = fixture.Client();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(1, fixture.Fake.TokenRequests);
    }

    [Fact]
    public async Task ReadyIsUnhealthyButLiveStaysUpWhenTheJwksIsUnreachable()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1).RespondWith(Response.Create().WithStatusCode(500));
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        await ProblemAssert.IsProblem(await client.GetAsync("/health/ready"), HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task ReadinessResultsAreCachedSoProbesDoNotHammerScalekit()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1).RespondWith(Response.Create().WithStatusCode(500));
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Scalekit:Resilience:Retry:MaxRetryAttempts"] = "1" });
        var client = factory.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("Degraded", await ReadyStatus(client));
        }

        Assert.Equal(2, fake.TokenRequests);
    }

    [Fact]
    public async Task AnUnreachableTokenEndpointLeavesTheReplicaInRotationAsDegraded()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1).RespondWith(Response.Create().WithStatusCode(503));
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();

        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Degraded", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("Degraded", body.RootElement.GetProperty("checks").GetProperty("scalekit").GetProperty("status").GetString());
    }

    [Fact]
    public async Task AHangingTokenEndpointIsDegradedWithinAProbesTimeout()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(504).WithDelay(TimeSpan.FromSeconds(20)));
        // appsettings.json's timeouts, not the tests' short ones: the token fetch alone may take 15 s.
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:05",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:15",
        });
        var client = factory.CreateClient();
        // A Kubernetes probe gives up after its timeout; waiting out Scalekit's 15 s would fail it.
        client.Timeout = TimeSpan.FromSeconds(8);

        Assert.Equal("Degraded", await ReadyStatus(client));
    }

    [Fact]
    public async Task RejectedClientCredentialsAreNotReady()
    {
        using var fake = new ScalekitFake();
        fake.Server.Given(Request.Create().WithPath("/oauth/token")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("""{"error":"invalid_client"}"""));
        using var factory = new ApiFactory(fake);
        var client = factory.CreateClient();

        var problem = await ProblemAssert.IsProblem(await client.GetAsync("/health/ready"), HttpStatusCode.ServiceUnavailable);

        Assert.Contains("credentials", problem.GetProperty("checks").GetProperty("scalekit").GetProperty("description").GetString());
    }

    private static async Task<string?> ReadyStatus(HttpClient client)
    {
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("status").GetString();
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task ProbesReadWithGetOrHeadAndRefuseOtherMethods(string path)
    {
        using var fixture = new ApiFixture();
        var client = fixture.Client();

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path))).StatusCode);
        foreach (var method in new[] { HttpMethod.Delete, HttpMethod.Post, HttpMethod.Put, new HttpMethod("FOO") })
        {
            var response = await client.SendAsync(new HttpRequestMessage(method, path));
            await ProblemAssert.IsProblem(response, HttpStatusCode.MethodNotAllowed);
            Assert.Equal(["GET", "HEAD"], response.Content.Headers.Allow.Order());
        }
    }
}
