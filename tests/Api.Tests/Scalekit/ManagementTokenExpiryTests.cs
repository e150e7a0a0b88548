using System.Net;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Scalekit;

/// <summary>The management token on a fake clock: it expires when the test says so, never by sleeping.</summary>
public sealed class ManagementTokenExpiryTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly ScalekitFake _fake = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        _release.TrySetResult();
        _fake.Dispose();
    }

    [Fact]
    public async Task ConcurrentCallsAfterTheTokenExpiredShareOneFetchOfItsReplacement()
    {
        _fake.AddOrganization(Tokens.OrgA);
        // The token fetch is held at the fake while 20 reads join it: under the default 2 s attempt a busy machine timed
        // it out, and the reads fetched again. Unhurried, only a fetch that is not shared can add one.
        using var factory = new ApiFactory(_fake, ApiFactory.UnhurriedSettings(), services: services => services.AddSingleton(provider => new ManagementTokenProvider(
            provider.GetRequiredService<IHttpClientFactory>(),
            provider.GetRequiredService<IOptionsMonitor<ScalekitOptions>>(),
            provider.GetRequiredService<IManagementTokenStore>(),
            _clock,
            provider.GetRequiredService<ApiMetrics>(),
            provider.GetRequiredService<ILogger<ManagementTokenProvider>>())));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(_fake).User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.Equal(1, _fake.TokenRequests);

        // The fake's token lives a day: a day and a minute later it is expired, not merely due for refresh.
        _clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                arrived.TrySetResult();
                _release.Task.Wait(TimeSpan.FromSeconds(30));
                return _fake.IssueManagementToken(request);
            }));
        var reads = Enumerable.Range(0, 20).Select(_ => client.GetAsync($"/organizations/{Tokens.OrgA}")).ToList();
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _release.SetResult();
        var answers = await Task.WhenAll(reads);

        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.StatusCode));
        Assert.Equal(2, _fake.TokenRequests);
        // Every read after the expiry carried the replacement, none the expired token.
        var afterExpiry = _fake.Requests("GET", $"/api/v1/organizations/{Tokens.OrgA}").Skip(1).ToList();
        Assert.Equal(20, afterExpiry.Count);
        Assert.All(afterExpiry, call => Assert.Equal($"Bearer {_fake.CurrentManagementToken}", call.RequestMessage.Headers!["Authorization"].Single()));
    }
}
