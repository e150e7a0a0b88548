using Api.Auth;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace Api.Tests;

/// <summary>
/// The real API in-process, configured against a <see cref="ScalekitFake"/>; extra settings override, and
/// <paramref name="services"/> may swap a dependency such as a clock.
/// </summary>
public sealed class ApiFactory(ScalekitFake fake, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    /// <summary>Settings that let every unknown <c>kid</c> refetch the JWKS at once (no cooldown).</summary>
    public static IReadOnlyDictionary<string, string?> NoJwksCooldown { get; } =
        new Dictionary<string, string?> { ["Scalekit:JwksRefreshCooldown"] = "00:00:00" };

    /// <summary>
    /// How long a test host waits for the fake's JWKS (the API's own limit is 5 s). A host's first fetch pays for JIT on
    /// both sides of the socket: on a loaded CI machine it took longer than 5 s, and the 30 s cooldown that follows a
    /// failed fetch then answered a whole test class 503. No test times the JWKS fetch; an answer that never comes still fails.
    /// </summary>
    public static readonly TimeSpan JwksFetchTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Settings under which no resilience timeout ends a Scalekit call a test holds at the fake (20 s an attempt, 40 s in
    /// all), plus <paramref name="extra"/>. A test that holds a call while other requests go through, or until the server
    /// notices a hang-up, needs them: on a busy machine that takes longer than the default 2 s attempt, and a timed-out
    /// read's retry (or a create's 504) would then be what the test saw.
    /// </summary>
    public static Dictionary<string, string?> UnhurriedSettings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:20",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:40",
            ["Scalekit:Resilience:CircuitBreaker:SamplingDuration"] = "00:00:40",
            ["Idempotency:InFlightTimeout"] = "00:01:30",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    public LogCapture Logs { get; } = new();

    public static Dictionary<string, string?> DefaultSettings(ScalekitFake fake) => new()
    {
        ["Scalekit:EnvironmentUrl"] = fake.Url,
        ["Scalekit:ClientId"] = ScalekitFake.ClientId,
        ["Scalekit:ClientSecret"] = ScalekitFake.ClientSecret,
        ["Scalekit:Audiences:0"] = ScalekitFake.Audience,
        ["Scalekit:Audiences:1"] = "skc_m2m_audience",
        ["Scalekit:JwksRefreshCooldown"] = "00:00:30",
        // Most tests are about the upstream call itself: every organization read reaches the fake unless a test
        // turns the read cache on (CachedApiFixture).
        ["Caching:OrganizationTtl"] = "00:00:00",
        // Fast, bounded resilience: tests shrink delays through configuration, never sleep.
        ["Scalekit:Resilience:Retry:Delay"] = "00:00:00.010",
        ["Scalekit:Resilience:Retry:MaxRetryAttempts"] = "2",
        ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:02",
        ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:05",
        ["Scalekit:Resilience:CircuitBreaker:MinimumThroughput"] = "1000",
        ["Scalekit:Resilience:CircuitBreaker:SamplingDuration"] = "00:00:10",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // The repository's appsettings.json (copied next to the tests) is part of what is tested.
        builder.UseContentRoot(AppContext.BaseDirectory);
        builder.UseEnvironment("Testing");
        var merged = DefaultSettings(fake);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        foreach (var (key, value) in merged)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(collection => collection.AddSingleton<ILogEventSink>(Logs));
        // After the app's own registrations, so a test's replacement wins.
        builder.ConfigureTestServices(collection =>
        {
            collection.AddHttpClient(SigningKeyStore.HttpClientName, client => client.Timeout = JwksFetchTimeout);
            services?.Invoke(collection);
        });
    }
}

/// <summary>
/// A fake plus an API host shared by the tests of one class; each test starts from a clean fake. As a class fixture the
/// host is started and its signing keys loaded before the first test runs.
/// </summary>
public class ApiFixture : IDisposable, IAsyncLifetime
{
    public ApiFixture()
        : this(null)
    {
    }

    protected ApiFixture(IReadOnlyDictionary<string, string?>? settings)
    {
        Fake = new ScalekitFake();
        Tokens = new Tokens(Fake);
        Factory = new ApiFactory(Fake, settings);
    }

    public ScalekitFake Fake { get; }

    public Tokens Tokens { get; }

    public ApiFactory Factory { get; }

    public HttpClient Client(string? token = null)
    {
        var client = Factory.CreateClient(new() { AllowAutoRedirect = false });
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        }

        return client;
    }

    /// <summary>
    /// Called by xUnit for a class fixture only. A first JWKS fetch that failed would answer every test of the class 503
    /// (signing_keys_unavailable) until the 30 s cooldown ends, and a test resetting the fake while that fetch is in
    /// flight could make it fail: the keys are loaded first, asked for again once the cooldown allows, as a caller would.
    /// </summary>
    public async Task InitializeAsync()
    {
        var keys = Factory.Services.GetRequiredService<SigningKeyStore>();
        await Poll.UntilAsync(async () => keys.HasKeys || await keys.RefreshAsync() is not null,
            "the API host loaded its signing keys from the fake", within: TimeSpan.FromSeconds(90));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        Factory.Dispose();
        Fake.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>An <see cref="ApiFixture"/> with the organization read cache on (30 s), for tests about that cache.</summary>
public sealed class CachedApiFixture() : ApiFixture(new Dictionary<string, string?> { ["Caching:OrganizationTtl"] = "00:00:30" });

/// <summary>
/// An <see cref="ApiFixture"/> whose Scalekit calls may take as long as they need (20 s an attempt), for a test whose
/// fake is slow to answer by design (a 5 MiB body): the 2 s attempt timeout of the default settings could end it on a
/// busy machine, and the retry would then be what the test saw.
/// </summary>
public sealed class UnhurriedApiFixture() : ApiFixture(ApiFactory.UnhurriedSettings());
