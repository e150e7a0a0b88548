using System.Net;
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
            await ProblemAssert.IsProblem(await client.GetAsync("/health/ready"), HttpStatusCode.ServiceUnavailable);
        }

        Assert.Equal(2, fake.TokenRequests);
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
