using System.Diagnostics.Metrics;
using System.Net;
using Api.Auth;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Faults;

/// <summary>
/// The JWKS under stress, with the signing-key store on a fake clock (Scalekit:JwksRefreshCooldown stays 30 s):
/// time moves only when the test says so, never by sleeping.
/// </summary>
public sealed class SigningKeyStressTests : IDisposable
{
    private static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly ScalekitFake _fake = new();
    private readonly Tokens _tokens;

    public SigningKeyStressTests()
    {
        _fake.AddOrganization(Tokens.OrgA);
        _tokens = new Tokens(_fake);
    }

    public void Dispose() => _fake.Dispose();

    private ApiFactory Start() => new(_fake, services: services => services.AddSingleton(provider => new SigningKeyStore(
        provider.GetRequiredService<IHttpClientFactory>(),
        provider.GetRequiredService<IOptionsMonitor<ScalekitOptions>>(),
        _clock,
        provider.GetRequiredService<ApiMetrics>(),
        provider.GetRequiredService<ILogger<SigningKeyStore>>())));

    private static HttpClient Client(ApiFactory factory, string token)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    // Signed with the real key, so only the unknown kid is wrong.
    private string RandomKidToken() => Tokens.Compose(
        new { alg = "RS256", typ = "JWT", kid = Guid.NewGuid().ToString("N") },
        _tokens.BaseClaims("usr_flood", Tokens.OrgA),
        input => Tokens.SignRs256(_fake.SigningKey.Rsa, input));

    private async Task<HttpResponseMessage[]> FloodAsync(ApiFactory factory, int requests = 40) =>
        await Task.WhenAll(Enumerable.Range(0, requests).Select(_ => Client(factory, RandomKidToken()).GetAsync($"/organizations/{Tokens.OrgA}")));

    [Fact]
    public async Task AFloodOfRandomKidsCausesAtMostOneJwksFetchPerCooldownWindow()
    {
        using var factory = Start();
        var valid = Client(factory, _tokens.User(permissions: ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        using var refreshes = new MetricCollector<long>(factory.Services.GetRequiredService<IMeterFactory>(), ApiMetrics.MeterName, ApiMetrics.JwksRefreshes);
        var startup = _fake.JwksFetches;

        var sameWindow = await FloodAsync(factory);
        _clock.Advance(Cooldown + TimeSpan.FromSeconds(1));
        var nextWindow = await FloodAsync(factory);
        await _fake.WhenReceived("GET", "/keys", startup + 1);
        _clock.Advance(Cooldown / 2);
        var stillThatWindow = await FloodAsync(factory);
        _clock.Advance(Cooldown);
        var thirdWindow = await FloodAsync(factory);
        await _fake.WhenReceived("GET", "/keys", startup + 2);

        Assert.Equal(1, startup);
        Assert.All(sameWindow.Concat(nextWindow).Concat(stillThatWindow).Concat(thirdWindow), r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Equal(startup + 2, _fake.JwksFetches);
        // The store's own count, which unlike the fake's log cannot lag behind.
        Assert.Equal(2, refreshes.GetMeasurementSnapshot().Count);
        Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
    }

    [Fact]
    public async Task AJwksDownFromStartupIs503WithACountdownAndRecoversByItselfAfterTheCooldown()
    {
        var outage = Guid.NewGuid();
        _fake.Server.Given(Request.Create().WithPath("/keys")).AtPriority(1).WithGuid(outage).RespondWith(Response.Create().WithStatusCode(503));
        using var factory = Start();
        var client = Client(factory, _tokens.User(permissions: ["organizations:read"]));
        var first = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        await _fake.WhenReceived("GET", "/keys", 1);

        _clock.Advance(TimeSpan.FromSeconds(20));
        var during = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync($"/organizations/{Tokens.OrgA}")));
        _fake.Server.DeleteMapping(outage);
        var healedButCoolingDown = await client.GetAsync($"/organizations/{Tokens.OrgA}");
        var fetchesWhileCoolingDown = _fake.JwksFetches;
        _clock.Advance(TimeSpan.FromSeconds(11));
        var recovered = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(first, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(Cooldown, first.Headers.RetryAfter?.Delta);
        Assert.All(during, r => Assert.Equal(TimeSpan.FromSeconds(10), r.Headers.RetryAfter?.Delta));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, healedButCoolingDown.StatusCode);
        Assert.Equal(1, fetchesWhileCoolingDown);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateClient().GetAsync("/health/live")).StatusCode);
    }
}
