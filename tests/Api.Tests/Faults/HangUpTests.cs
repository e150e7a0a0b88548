using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Api.Infrastructure;
using Api.Scalekit;
using Api.Tests.Idempotency;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Faults;

/// <summary>
/// Callers that hang up mid-request, over a real socket (Kestrel sees the connection close): what they leave behind,
/// what callers waiting on the same work still get, and how the request is recorded.
/// </summary>
public sealed class HangUpTests : IDisposable
{
    private readonly ScalekitFake _fake = new();
    private readonly NoticedHangUps _hangUps = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ApiFactory? _factory;

    public void Dispose()
    {
        _release.TrySetResult();
        _factory?.Dispose();
        _fake.Dispose();
    }

    private (ApiFactory Factory, Uri Address) Start(Dictionary<string, string?>? extra = null, Action<IServiceCollection>? services = null)
    {
        var settings = FaultInjection.ShortTimeouts();
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        _factory = new ApiFactory(_fake, settings, collection =>
        {
            collection.AddSingleton<IStartupFilter>(_hangUps);
            services?.Invoke(collection);
        });
        return (_factory, _factory.StartOnLoopback());
    }

    // The shared reads are cached; every held Scalekit call outlasts the wait for the server to notice a hang-up.
    private static Dictionary<string, string?> Unhurried => ApiFactory.UnhurriedSettings(("Caching:OrganizationTtl", "00:00:30"));

    private static HttpClient Client(Uri address, string token)
    {
        var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    [Fact]
    public async Task TheRetryOfACreateWhoseCallerHungUpReplaysTheWholeOrganization()
    {
        var (_, address) = Start(Unhurried);
        using var client = Client(address, new Tokens(_fake).User(Tokens.OrgA, ["organizations:create"]));
        var body = new { displayName = "Impatient Ltd", externalId = $"hangup-{Guid.NewGuid():N}" };
        var key = $"\"{Guid.NewGuid()}\"";
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.HoldOrganizationCreates(arrived, _release.Task);
        using var hangUp = new CancellationTokenSource();

        var first = client.SendAsync(IdempotentCreateTests.Create(body, key), hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await _hangUps.Noticed(1);
        _release.SetResult();
        HttpResponseMessage retry = null!;
        await Poll.UntilAsync(async () =>
        {
            retry = await client.SendAsync(IdempotentCreateTests.Create(body, key));
            return retry.StatusCode != HttpStatusCode.Conflict;
        }, "the abandoned create's answer is stored");

        // The answer was captured after its caller had gone: the replay is the whole organization, not an empty 201.
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        using var replayed = JsonDocument.Parse(await retry.Content.ReadAsStringAsync());
        Assert.Equal(body.externalId, replayed.RootElement.GetProperty("externalId").GetString());
        Assert.Equal(retry.Headers.Location?.ToString(), $"/organizations/{replayed.RootElement.GetProperty("id").GetString()}");
        Assert.Single(_fake.OrganizationsWithExternalId(body.externalId));
        await AssertHangUpsLoggedQuietly(expected: 1);
        // The hang-up's event says the organization was created all the same: its 201 was stored for the retry. The
        // retry's event answered from the store, storing nothing.
        var requests = _factory!.Logs.Events.Where(e => e.MessageTemplate.Text.StartsWith("HTTP ", StringComparison.Ordinal)).ToList();
        var hungUp = Assert.Single(requests, e => e.Properties["StatusCode"].ToString() == "499");
        Assert.Equal("201", hungUp.Properties["StoredForReplay"].ToString());
        Assert.All(requests.Where(e => e != hungUp), e => Assert.False(e.Properties.ContainsKey("StoredForReplay")));
    }

    [Fact]
    public async Task ACallerLeavingASharedOrganizationReadDoesNotCancelItForTheOthers()
    {
        var joins = new JoinCounter();
        var (_, address) = Start(Unhurried, joins.Decorate);
        _fake.AddOrganization(Tokens.OrgA, displayName: "Shared");
        var token = new Tokens(_fake).User(Tokens.OrgA, ["organizations:read"]);
        using var starter = Client(address, token);
        using var waiter = Client(address, token);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.HoldNextOrganizationRead(arrived, _release.Task);
        using var hangUp = new CancellationTokenSource();

        var first = starter.GetAsync($"/organizations/{Tokens.OrgA}", hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var second = waiter.GetAsync($"/organizations/{Tokens.OrgA}");
        await joins.Reached(2);
        // The caller whose request started the shared Scalekit call goes away.
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await _hangUps.Noticed(1);
        _release.SetResult();
        var answer = await second;

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.Equal("Shared", body.RootElement.GetProperty("displayName").GetString());
        Assert.Single(_fake.Requests("GET", $"/api/v1/organizations/{Tokens.OrgA}"));
        await AssertHangUpsLoggedQuietly(expected: 1);
    }

    [Theory]
    [InlineData("a kid the JWKS lacks", HttpStatusCode.Unauthorized)]
    [InlineData("a rotated key, without the grant", HttpStatusCode.Forbidden)]
    public async Task ACallerWhoHangsUpWhileItsTokenWaitsOnAKeyRefetchIsLoggedAsAHangUp(string signedWith, HttpStatusCode answer)
    {
        var (_, address) = Start(new(ApiFactory.NoJwksCooldown));
        _fake.AddOrganization(Tokens.OrgA);
        var tokens = new Tokens(_fake);
        // The keys are loaded: only the token's kid, new to this API, sends its request to the refetch.
        using (var known = Client(address, tokens.User(Tokens.OrgA, ["organizations:read"])))
        {
            Assert.Equal(HttpStatusCode.OK, (await known.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        }

        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.HoldKeyFetches(arrived, _release.Task);
        var key = signedWith == "a kid the JWKS lacks" ? new TestKey("kid-stranger") : _fake.RotateKey();
        var token = tokens.Sign(tokens.BaseClaims("usr_newcomer", Tokens.OrgA), key);
        using var leaving = Client(address, token);
        using var staying = Client(address, token);
        using var hangUp = new CancellationTokenSource();

        var first = leaving.GetAsync($"/organizations/{Tokens.OrgA}", hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The caller goes away while its token waits on the refetch, which goes on (for any other caller) regardless.
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await _hangUps.Noticed(1);
        _release.SetResult();
        var second = await staying.GetAsync($"/organizations/{Tokens.OrgA}");

        // A caller still there gets its answer, as before.
        await ProblemAssert.IsProblem(second, answer);
        // The one who left is recorded as a hang-up, like any other, not as an answer nobody received.
        await AssertHangUpsLoggedQuietly(expected: 1);
        Assert.Single(_factory!.Logs.Events, e => e.MessageTemplate.Text.StartsWith("HTTP ", StringComparison.Ordinal)
            && e.Properties["StatusCode"].ToString() == ((int)answer).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task ACallerWhoHangsUpWhileItsTokenWaitsOnAKeyRefetchStopsWaitingWhileTheFetchGoesOnForTheOthers()
    {
        var (_, address) = Start(new(ApiFactory.NoJwksCooldown));
        _fake.AddOrganization(Tokens.OrgA);
        var tokens = new Tokens(_fake);
        using (var known = Client(address, tokens.User(Tokens.OrgA, ["organizations:read"])))
        {
            Assert.Equal(HttpStatusCode.OK, (await known.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        }

        _fake.ResetRequests();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.HoldKeyFetches(arrived, _release.Task);
        _fake.RotateKey();
        // Signed with the new key and granted: once the refetch has loaded that key, the answer is 200.
        var token = tokens.User(Tokens.OrgA, ["organizations:read"]);
        using var staying = Client(address, token);
        using var leaving = Client(address, token);
        using var hangUp = new CancellationTokenSource();

        // The first caller's token starts the refetch (held at the fake) and waits on it; the second joins it.
        var second = staying.GetAsync($"/organizations/{Tokens.OrgA}");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var first = leaving.GetAsync($"/organizations/{Tokens.OrgA}", hangUp.Token);
        await _hangUps.Arrived(3);
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        // The one who left stops waiting at once: its request ends (499) while the fetch is still held, not when the
        // fetch ends (up to the JWKS client's timeout, 30 s in tests).
        await AssertHangUpsLoggedQuietly(expected: 1);
        Assert.False(second.IsCompleted);
        _release.SetResult();
        var answer = await second;

        // The fetch went on for the caller who stayed and loaded the new key.
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(1, _fake.JwksFetches);
        // The token of the one who left was never judged: no access decision is recorded for it.
        Assert.DoesNotContain(_factory!.Logs.Events, e => e.Properties.TryGetValue("Decision", out var decision) && decision.ToString() == "\"deny\"");
    }

    [Fact]
    public async Task AReadinessProbeThatGivesUpWhileTheKeysAreFetchedStopsWaitingWhileTheFetchGoesOn()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // No key is ever loaded before the probe: every fetch is held.
        _fake.HoldKeyFetches(arrived, _release.Task);
        var (factory, address) = Start();
        using var durations = new MetricCollector<double>(factory.Services.GetRequiredService<IMeterFactory>(),
            "Microsoft.AspNetCore.Hosting", "http.server.request.duration");
        using var probe = new HttpClient { BaseAddress = address };
        using var hangUp = new CancellationTokenSource();

        var ready = probe.GetAsync("/health/ready", hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await _hangUps.Arrived(1);
        // The probe gives up (its own timeout) while the fetch is still held at Scalekit.
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ready);

        // Its request ends as it leaves (recorded 499), not when the fetch ends (up to the JWKS client's timeout).
        await Poll.UntilAsync(() => durations.GetMeasurementSnapshot().Any(m => Equals(m.Tags["http.route"], "/health/ready")),
            "the abandoned probe's request ends");
        var ended = Assert.Single(durations.GetMeasurementSnapshot(), m => Equals(m.Tags["http.route"], "/health/ready"));
        Assert.Equal(499, ended.Tags["http.response.status_code"]);
        AssertNoFailureLogged();
        Assert.False(_release.Task.IsCompleted);
        _release.SetResult();

        // The fetch was not cancelled with it: it goes on, loads the keys, and the next probe finds the API ready.
        await Poll.UntilAsync(() => factory.Services.GetRequiredService<Api.Auth.SigningKeyStore>().HasKeys, "the held fetch loads the keys");
        Assert.Equal(HttpStatusCode.OK, (await probe.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(1, _fake.JwksFetches);
    }

    [Theory]
    [InlineData("a create without an Idempotency-Key")]
    [InlineData("a metadata change holding its turn")]
    public async Task AChangeThatRunsToItsEndAfterItsCallerHungUpIsLoggedAsAHangUpAndStillApplied(string change)
    {
        var (_, address) = Start(Unhurried);
        _fake.AddOrganization(Tokens.OrgA);
        using var client = Client(address, new Tokens(_fake).User(Tokens.OrgA, ["organizations:create", "organizations:write_all"]));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var externalId = $"hangup-{Guid.NewGuid():N}";
        using var hangUp = new CancellationTokenSource();
        Task<HttpResponseMessage> request;
        if (change == "a create without an Idempotency-Key")
        {
            _fake.HoldOrganizationCreates(arrived, _release.Task);
            request = client.PostAsync("/organizations", new StringContent(
                $$"""{"displayName":"Impatient Ltd","externalId":"{{externalId}}"}""", System.Text.Encoding.UTF8, "application/json"), hangUp.Token);
        }
        else
        {
            _fake.HoldNextOrganizationUpdate(arrived, _release.Task);
            request = client.PatchAsync($"/organizations/{Tokens.OrgA}", new StringContent(
                """{"metadata":{"plan":"gold"}}""", System.Text.Encoding.UTF8, "application/json"), hangUp.Token);
        }

        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await _hangUps.Noticed(1);
        _release.SetResult();

        // The change is not cut short by its caller leaving: it is applied all the same...
        await Poll.UntilAsync(() => change == "a create without an Idempotency-Key"
            ? _fake.OrganizationsWithExternalId(externalId).Count == 1
            : _fake.Stored(Tokens.OrgA)?["metadata"]?["plan"]?.GetValue<string>() == "gold", "the change is applied");
        // ...and its request is recorded as the hang-up it was, not as a 201 or 200 nobody received.
        await AssertHangUpsLoggedQuietly(expected: 1);
        Assert.Single(_factory!.Logs.Events, e => e.MessageTemplate.Text.StartsWith("HTTP ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACreateThatScalekitRefusesAfterItsCallerHungUpIsLoggedAsAHangUp()
    {
        var (_, address) = Start(Unhurried);
        var externalId = $"taken-{Guid.NewGuid():N}";
        _fake.AddOrganization("org_taken", externalId: externalId);
        using var client = Client(address, new Tokens(_fake).User(Tokens.OrgA, ["organizations:create"]));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.HoldOrganizationCreates(arrived, _release.Task);
        using var hangUp = new CancellationTokenSource();

        var request = client.PostAsync("/organizations", new StringContent(
            $$"""{"displayName":"Copycat","externalId":"{{externalId}}"}""", System.Text.Encoding.UTF8, "application/json"), hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await _hangUps.Noticed(1);
        // The create runs to its end without its caller, and Scalekit refuses it (409: the externalId is taken).
        _release.SetResult();

        // What Scalekit answered is logged; the request is recorded as the hang-up it was, not as a 409 nobody received.
        await AssertHangUpsLoggedQuietly(expected: 1);
        Assert.Contains(_factory!.Logs.Events, e => e.MessageTemplate.Text.StartsWith("Scalekit answered", StringComparison.Ordinal)
            && e.Properties["StatusCode"].ToString() == "409");
        Assert.Single(_factory.Logs.Events, e => e.MessageTemplate.Text.StartsWith("HTTP ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACallerGoneWhenTheRateLimiterRefusesItIsLoggedAsAHangUp()
    {
        var (_, address) = Start(new() { ["RateLimiting:Reads:PermitLimit"] = "1", ["RateLimiting:Reads:Window"] = "01:00:00" });
        _fake.AddOrganization(Tokens.OrgA);
        using var client = Client(address, new Tokens(_fake).User(Tokens.OrgA, ["organizations:read"]));
        // The caller's one read of the hour is spent (and its token validated and cached).
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        _hangUps.HoldUntilGone();
        using var hangUp = new CancellationTokenSource();

        var request = client.GetAsync($"/organizations/{Tokens.OrgA}", hangUp.Token);
        await _hangUps.Arrived(2);
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        // The limiter refuses it without a word (a caller already gone gets no 429): it is recorded as the hang-up it
        // was, not as the 200 the response still held.
        await AssertHangUpsLoggedQuietly(expected: 1);
        Assert.Equal(2, _factory!.Logs.Events.Count(e => e.MessageTemplate.Text.StartsWith("HTTP ", StringComparison.Ordinal)));
        Assert.Single(_fake.Requests("GET", "/api/v1/organizations"));
    }

    // A hang-up is the caller's doing: its request is recorded as 499 at Information, with no error event or stack
    // trace anywhere.
    private async Task AssertHangUpsLoggedQuietly(int expected)
    {
        static bool HungUp(Serilog.Events.LogEvent e) =>
            e.MessageTemplate.Text.StartsWith("HTTP ", StringComparison.Ordinal) && e.Properties["StatusCode"].ToString() == "499";
        // The request event is written once the abandoned request has unwound.
        await Poll.UntilAsync(() => _factory!.Logs.Events.Count(HungUp) >= expected, "the hung-up request is logged");
        AssertNoFailureLogged();
        var hungUp = _factory!.Logs.Events.Where(HungUp).ToList();
        Assert.Equal(expected, hungUp.Count);
        Assert.All(hungUp, e => Assert.Equal(Serilog.Events.LogEventLevel.Information, e.Level));
    }

    private void AssertNoFailureLogged() =>
        Assert.DoesNotContain(_factory!.Logs.Events, e => e.Level >= Serilog.Events.LogEventLevel.Error
            || (e.Exception is not null && e.Level >= Serilog.Events.LogEventLevel.Warning));

    [Fact]
    public async Task ASharedOrganizationReadEveryCallerLeftIsCancelledAndTheNextReadStartsAfresh()
    {
        var joins = new JoinCounter();
        // Timeouts far beyond the wait below: only a cancellation can end the Scalekit call within it.
        var (factory, address) = Start(Unhurried, joins.Decorate);
        _fake.AddOrganization(Tokens.OrgA, displayName: "Shared");
        var token = new Tokens(_fake).User(Tokens.OrgA, ["organizations:read"]);
        using var one = Client(address, token);
        using var two = Client(address, token);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.HoldNextOrganizationRead(arrived, _release.Task);
        using var hangUp = new CancellationTokenSource();

        var first = one.GetAsync($"/organizations/{Tokens.OrgA}", hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var calls = new MetricCollector<long>(factory.Services.GetRequiredService<IMeterFactory>(), ApiMetrics.MeterName, ApiMetrics.UpstreamCalls);
        var second = two.GetAsync($"/organizations/{Tokens.OrgA}", hangUp.Token);
        await joins.Reached(2);
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        await _hangUps.Noticed(2);

        // Nobody waits for it any more: the Scalekit call is cut short, long before Scalekit answers (never, here) or
        // the resilience timeouts would end it; and it is counted as cancelled, not as a Scalekit timeout.
        await Poll.UntilAsync(() => calls.GetMeasurementSnapshot().Any(m => Equals(m.Tags["outcome"], "cancelled")), "the shared call is cancelled",
            within: TimeSpan.FromSeconds(15));
        Assert.DoesNotContain(calls.GetMeasurementSnapshot(), m => Equals(m.Tags["outcome"], "timeout"));
        // And it is not left for the next reader to join: that one gets its own call, answered at once.
        using var three = Client(address, token);
        var fresh = await three.GetAsync($"/organizations/{Tokens.OrgA}");
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        Assert.False(_release.Task.IsCompleted);
    }
    [Theory]
    [InlineData("a caller hangs up")]
    [InlineData("the readiness probe stops waiting")]
    public async Task AManagementTokenFetchNobodyWaitsForAnyMoreFailsWithoutAnUnobservedException(string leaving)
    {
        // A status no other test's token endpoint answers, so only this test's failure is looked for.
        const string failure = "The Scalekit token endpoint answered 599.";
        var unobserved = 0;
        void Watch(object? sender, UnobservedTaskExceptionEventArgs args)
        {
            if (args.Exception.Flatten().InnerExceptions.Any(ex => ex is ManagementTokenException { Message: failure }))
            {
                Interlocked.Increment(ref unobserved);
            }
        }

        // The fetch fails with the answer the fake holds, not with a timeout of its own while held.
        var (factory, address) = Start(Unhurried);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(_ =>
            {
                arrived.TrySetResult();
                _release.Task.Wait(TimeSpan.FromSeconds(30));
                return ScalekitFake.Json(599, new { error = "server_error" });
            }));
        _fake.AddOrganization(Tokens.OrgA);
        using var client = Client(address, new Tokens(_fake).User(Tokens.OrgA, ["organizations:read"]));
        using var hangUp = new CancellationTokenSource();
        TaskScheduler.UnobservedTaskException += Watch;
        try
        {
            if (leaving == "a caller hangs up")
            {
                var first = client.GetAsync($"/organizations/{Tokens.OrgA}", hangUp.Token);
                await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await hangUp.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
                await _hangUps.Noticed(1);
            }
            else
            {
                // The probe waits 2 s for a token, then answers Degraded and leaves the fetch running.
                var ready = await client.GetAsync("/health/ready");
                Assert.Contains("not answering", await ready.Content.ReadAsStringAsync());
            }

            // The fetch goes on for whoever asks next; nobody does before it fails.
            _release.SetResult();
            var tokens = factory.Services.GetRequiredService<ManagementTokenProvider>();
            await Poll.UntilAsync(() => tokens.LastFetchFailed, "the abandoned fetch fails");

            // A failed task nobody observed reports itself when it is collected.
            for (var i = 0; i < 20 && Volatile.Read(ref unobserved) == 0; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                await Task.Yield();
            }
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= Watch;
        }

        Assert.Equal(0, Volatile.Read(ref unobserved));
    }
}

/// <summary>Counts the requests reaching the server, and the server noticing callers hang up (their RequestAborted firing).</summary>
internal sealed class NoticedHangUps : IStartupFilter
{
    private readonly Counter _arrived = new();
    private readonly Counter _noticed = new();
    private volatile bool _holdUntilGone;

    /// <summary>
    /// From now on each request waits at the start of the pipeline until its caller has hung up (30 s at most), then
    /// goes on: a request that sat in the server's queue, on a busy machine, while its caller gave up.
    /// </summary>
    public void HoldUntilGone() => _holdUntilGone = true;

    /// <summary>Completes once <paramref name="count"/> requests have reached the server's pipeline.</summary>
    public Task Arrived(int count) => _arrived.Reached(count);

    /// <summary>Completes once the server has seen <paramref name="count"/> callers hang up.</summary>
    public Task Noticed(int count) => _noticed.Reached(count);

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, following) =>
        {
            var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            context.RequestAborted.Register(() =>
            {
                _noticed.Increment();
                gone.TrySetResult();
            });
            _arrived.Increment();
            if (_holdUntilGone)
            {
                await gone.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }

            await following(context);
        });
        next(app);
    };

    private sealed class Counter
    {
        private readonly Lock _gate = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
        private int _value;

        public Task Reached(int count)
        {
            lock (_gate)
            {
                if (_value >= count)
                {
                    return Task.CompletedTask;
                }

                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((count, reached));
                return reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        public void Increment()
        {
            lock (_gate)
            {
                _value++;
                foreach (var waiter in _waiters.Where(waiter => waiter.Count <= _value))
                {
                    waiter.Reached.TrySetResult();
                }
            }
        }
    }
}

/// <summary>
/// Wraps the app's HybridCache to tell when a read has joined (or started) the shared fetch of its key: the join is
/// registered by the time GetOrCreateAsync returns its pending task.
/// </summary>
internal sealed class JoinCounter
{
    private readonly SemaphoreSlim _joined = new(0);

    public void Decorate(IServiceCollection services)
    {
        var original = services.Last(descriptor => descriptor.ServiceType == typeof(HybridCache));
        services.AddSingleton<HybridCache>(provider => new Joining(
            (HybridCache)(original.ImplementationInstance
                ?? original.ImplementationFactory?.Invoke(provider)
                ?? ActivatorUtilities.CreateInstance(provider, original.ImplementationType!)),
            _joined));
    }

    /// <summary>Completes once <paramref name="count"/> reads have joined.</summary>
    public async Task Reached(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(await _joined.WaitAsync(TimeSpan.FromSeconds(30)), $"{count} reads joined");
        }
    }

    private sealed class Joining(HybridCache inner, SemaphoreSlim joined) : HybridCache
    {
        public override ValueTask<T> GetOrCreateAsync<TState, T>(string key, TState state, Func<TState, CancellationToken, ValueTask<T>> factory,
            HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null, CancellationToken cancellationToken = default)
        {
            var pending = inner.GetOrCreateAsync(key, state, factory, options, tags, cancellationToken);
            joined.Release();
            return pending;
        }

        public override ValueTask SetAsync<T>(string key, T value, HybridCacheEntryOptions? options = null, IEnumerable<string>? tags = null,
            CancellationToken cancellationToken = default) => inner.SetAsync(key, value, options, tags, cancellationToken);

        public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken = default) => inner.RemoveAsync(key, cancellationToken);

        public override ValueTask RemoveByTagAsync(string tag, CancellationToken cancellationToken = default) => inner.RemoveByTagAsync(tag, cancellationToken);
    }
}
