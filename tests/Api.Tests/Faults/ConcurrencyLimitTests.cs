using System.Net;

namespace Api.Tests.Faults;

public sealed class ConcurrencyLimitTests : IDisposable
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose() => _release.TrySetResult();

    [Fact]
    public async Task ACallRefusedByThePipelinesConcurrencyLimitIs503WithRetryAfterNotA500()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:RateLimiter:DefaultRateLimiterOptions:PermitLimit"] = "1",
            // Long enough that the held read is never retried while the test looks at the second one.
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:10",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:20",
            ["Scalekit:Resilience:CircuitBreaker:SamplingDuration"] = "00:00:30",
        });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));
        await WarmUp.UntilOkAsync(client, $"/organizations/{Tokens.OrgA}");

        // The one permit is held by a read Scalekit has not answered yet.
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        fake.HoldOrganizationReads(arrived, _release.Task);
        var held = client.GetAsync($"/organizations/{Tokens.OrgA}");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var refused = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(refused, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Equal(1, fake.OrganizationReadsArrived);
        _release.TrySetResult();
        Assert.Equal(HttpStatusCode.OK, (await held).StatusCode);
    }
}
