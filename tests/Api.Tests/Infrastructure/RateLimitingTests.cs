using System.Net;
using System.Net.Http.Json;

namespace Api.Tests.Infrastructure;

public sealed class RateLimitingTests : IClassFixture<RateLimitingTests.Fixture>
{
    private readonly Fixture _api;

    public RateLimitingTests(Fixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA);
    }

    /// <summary>Two writes and three reads per caller per hour: no budget refills during a test.</summary>
    public sealed class Fixture() : ApiFixture(new Dictionary<string, string?>
    {
        ["RateLimiting:Writes:PermitLimit"] = "2",
        ["RateLimiting:Writes:Window"] = "01:00:00",
        ["RateLimiting:Reads:PermitLimit"] = "3",
        ["RateLimiting:Reads:Window"] = "01:00:00",
    });

    private static Task<HttpResponseMessage> Create(HttpClient client) => client.PostAsJsonAsync("/organizations", new { displayName = "Limited" });

    private static Task<HttpResponseMessage> Read(HttpClient client) => client.GetAsync($"/organizations/{Tokens.OrgA}");

    private HttpClient User(string? sub = null) =>
        _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create", "organizations:read"], customize: sub is null ? null : claims => claims["sub"] = sub));

    private HttpClient Machine(string clientId) =>
        _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:create", "organizations:read"], claims =>
        {
            claims["sub"] = clientId;
            claims["client_id"] = clientId;
        }));

    [Fact]
    public async Task OverTheWriteLimitACallerGets429ProblemWithRetryAfterAndScalekitIsNotCalled()
    {
        var client = User();

        var answers = new[] { await Create(client), await Create(client), await Create(client) };

        Assert.Equal(HttpStatusCode.Created, answers[0].StatusCode);
        Assert.Equal(HttpStatusCode.Created, answers[1].StatusCode);
        var problem = await ProblemAssert.IsProblem(answers[2], (HttpStatusCode)429);
        Assert.Equal("rate_limited", problem.GetProperty("reason").GetString());
        Assert.Equal("https://www.rfc-editor.org/rfc/rfc6585#section-4", problem.GetProperty("type").GetString());
        Assert.InRange(answers[2].Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 3600);
        Assert.Equal(2, _api.Fake.Requests("POST", "/api/v1/organizations").Count);
    }

    // The fixture's window is an hour: the refused caller is told to wait for that window's budget to come back, not
    // for the default minute's (a window the limiter ignored would answer 60 s or less and refill early).
    [Fact]
    public async Task RetryAfterFollowsTheConfiguredWindow()
    {
        var client = User();
        await Create(client);
        await Create(client);

        var refused = await Create(client);

        await ProblemAssert.IsProblem(refused, (HttpStatusCode)429);
        Assert.InRange(refused.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 61, 3600);
    }

    [Fact]
    public async Task TokensWithoutSubSpendTheirApplicationsBudgetNotOneSharedByEveryApplication()
    {
        HttpClient WithoutSub(string application) => _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"], customize: claims =>
        {
            claims.Remove("sub");
            claims["client_id"] = application;
        }));
        var first = WithoutSub("skc_" + Guid.NewGuid().ToString("N")[..12]);
        var second = WithoutSub("skc_" + Guid.NewGuid().ToString("N")[..12]);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await Read(first)).StatusCode);
        }

        await ProblemAssert.IsProblem(await Read(first), (HttpStatusCode)429);
        Assert.Equal(HttpStatusCode.OK, (await Read(second)).StatusCode);
    }

    [Fact]
    public async Task ReadsAndWritesHaveSeparateBudgets()
    {
        var client = User();
        await Create(client);
        await Create(client);

        var reads = new[] { await Read(client), await Read(client), await Read(client), await Read(client) };

        Assert.Equal((HttpStatusCode)429, (await Create(client)).StatusCode);
        Assert.All(reads[..3], r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await ProblemAssert.IsProblem(reads[3], (HttpStatusCode)429);
        Assert.Equal(3, _api.Fake.Requests("GET", "/api/v1/organizations").Count);
    }

    [Fact]
    public async Task EachCallerHasItsOwnBudget()
    {
        var noisy = User();
        await Create(noisy);
        await Create(noisy);

        var other = await Create(User());

        Assert.Equal((HttpStatusCode)429, (await Create(noisy)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
    }

    [Fact]
    public async Task AMachineClientIsLimitedByItsClientIdWhateverTokenItPresents()
    {
        var clientId = "m2morg_" + Guid.NewGuid().ToString("N")[..12];

        await Create(Machine(clientId));
        await Create(Machine(clientId));
        var third = await Create(Machine(clientId));

        Assert.Equal((HttpStatusCode)429, third.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Create(Machine(clientId + "x"))).StatusCode);
    }

    [Fact]
    public async Task AUserIsLimitedBySubjectWhateverTokenItPresents()
    {
        var sub = "usr_" + Guid.NewGuid().ToString("N")[..12];

        await Create(User(sub));
        await Create(User(sub));
        var third = await Create(User(sub));

        Assert.Equal((HttpStatusCode)429, third.StatusCode);
    }

    [Fact]
    public async Task HealthEndpointsAreNeverLimited()
    {
        var anonymous = _api.Client();

        var probes = await Task.WhenAll(Enumerable.Range(0, 10).SelectMany(_ => new[] { anonymous.GetAsync("/health/live"), anonymous.GetAsync("/health/ready") }));

        Assert.All(probes, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }
}
