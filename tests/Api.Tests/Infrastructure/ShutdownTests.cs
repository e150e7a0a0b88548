using System.Net;
using System.Net.Http.Json;
using System.Text;
using Api.Organizations;
using Api.SharedState;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Infrastructure;

public sealed class ShutdownTests
{
    [Fact]
    public async Task OnSigtermARequestInFlightIsFinishedBeforeTheProcessExitsCleanly()
    {
        using var scalekit = new ScalekitFake();
        scalekit.AddOrganization(Tokens.OrgA, "Draining Co");
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        scalekit.HoldOrganizationReads(arrived, release.Task);

        await using var api = ApiProcess.StartAgainst(scalekit);
        using var http = await api.ClientAsync(new Tokens(scalekit).User(Tokens.OrgA, ["organizations:read"]));

        var inFlight = http.GetAsync($"/organizations/{Tokens.OrgA}");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        api.Terminate();
        await api.WaitForLineAsync("Application is shutting down", TimeSpan.FromSeconds(30));
        release.SetResult();

        using var response = await inFlight.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Draining Co", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, await api.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task ACreateStillWaitingOnScalekitAtTheShutdownDeadlineDoesNotHoldTheProcessPastIt()
    {
        using var scalekit = new ScalekitFake();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        scalekit.HoldOrganizationCreates(arrived, release.Task);

        await using var api = ApiProcess.StartAgainst(scalekit, OnlyTheDeadlineEndsACall());
        using var http = await api.ClientAsync(new Tokens(scalekit).User(Tokens.OrgA, ["organizations:create"]));

        var create = http.PostAsJsonAsync("/organizations", new { displayName = "Late Ltd" });
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await AssertExitsAtTheDeadlineAsync(api, create, release);

        Assert.Contains("Application is shutting down", api.Output);
    }

    // A 2 s shutdown deadline and Scalekit's own timeouts far beyond it: only the deadline can end a held call. A key's
    // lease must outlast such a create (a lookup, then the create: 3 minutes), or startup stops.
    private static Dictionary<string, string> OnlyTheDeadlineEndsACall() => new()
    {
        ["DOTNET_shutdownTimeoutSeconds"] = "2",
        ["Scalekit__Resilience__AttemptTimeout__Timeout"] = "00:01:00",
        ["Scalekit__Resilience__TotalRequestTimeout__Timeout"] = "00:02:00",
        ["Scalekit__Resilience__CircuitBreaker__SamplingDuration"] = "00:02:00",
        ["Idempotency__InFlightTimeout"] = "00:05:00",
    };

    // SIGTERM while Scalekit holds the call, which it answers only afterwards: before the fixes the process waited for
    // that answer, however late. Past the deadline Kestrel drops the connection: there is nobody left to answer.
    private static async Task AssertExitsAtTheDeadlineAsync(ApiProcess api, Task<HttpResponseMessage> call, TaskCompletionSource release)
    {
        api.Terminate();
        try
        {
            Assert.Equal(0, await api.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        }
        finally
        {
            release.TrySetResult();
        }

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => call.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("ObjectDisposedException", api.Output);
        Assert.DoesNotContain("\"@l\":\"Error\"", api.Output);
    }

    private static StringContent Metadata(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task AMetadataChangeStillWaitingOnScalekitAtTheShutdownDeadlineDoesNotHoldTheProcessPastIt()
    {
        using var scalekit = new ScalekitFake();
        scalekit.AddOrganization(Tokens.OrgA, metadata: new() { ["tier"] = "gold" });
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        scalekit.HoldNextOrganizationUpdate(arrived, release.Task);

        await using var api = ApiProcess.StartAgainst(scalekit, OnlyTheDeadlineEndsACall());
        using var http = await api.ClientAsync(new Tokens(scalekit).User(Tokens.OrgA, roles: ["admin"]));

        // Before the fix a metadata change held its turn, and the process, until Scalekit answered.
        var patch = http.PatchAsync($"/organizations/{Tokens.OrgA}", Metadata("""{"metadata":{"plan":"pro"}}"""));
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await AssertExitsAtTheDeadlineAsync(api, patch, release);

        Assert.Contains("its outcome is unknown", api.Output);
    }

    [RedisFact]
    public async Task AMetadataChangeAbandonedAtTheShutdownDeadlineKeepsAnotherReplicasChangeWaitingUntilItsLockRunsOut()
    {
        await using var redis = await RedisServer.StartAsync();
        using var scalekit = new ScalekitFake();
        scalekit.AddOrganization(Tokens.OrgA, metadata: new() { ["tier"] = "gold" });
        var tokens = new Tokens(scalekit);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        scalekit.HoldNextOrganizationUpdate(arrived, release.Task);

        await using var replicaA = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string>
        {
            ["DOTNET_shutdownTimeoutSeconds"] = "2",
            ["ConnectionStrings__Redis"] = redis.ConnectionString,
            // Beyond the deadline, so only it can end the write; the abandoned lock is kept for the total timeout
            // (here as long as the 15 s lease).
            ["Scalekit__Resilience__AttemptTimeout__Timeout"] = "00:00:10",
            ["Scalekit__Resilience__TotalRequestTimeout__Timeout"] = "00:00:15",
            ["Scalekit__Resilience__CircuitBreaker__SamplingDuration"] = "00:00:30",
        });
        using var http = await replicaA.ClientAsync(tokens.User(Tokens.OrgA, roles: ["admin"]));
        // B waits for its turn as long as one of its Scalekit calls may take: here longer than A's abandoned lock is kept.
        using var replicaB = new ApiFactory(scalekit, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:30",
        });
        var clientB = replicaB.CreateClient();
        clientB.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(Tokens.OrgA, roles: ["admin"]));
        var locksB = (RedisOrganizationLocks)replicaB.Services.GetRequiredService<IOrganizationLocks>();
        var database = await redis.DatabaseAsync();
        var lockKey = $"orgapi:lock:org:{Tokens.OrgA}";

        var abandoned = http.PatchAsync($"/organizations/{Tokens.OrgA}", Metadata("""{"metadata":{"plan":"pro"}}"""));
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        replicaA.Terminate();
        Task<HttpResponseMessage> second;
        try
        {
            // Scalekit's attempt timeout (10 s) is what ended the change before the fix, not the 2 s deadline.
            Assert.Equal(0, await replicaA.WaitForExitAsync(TimeSpan.FromSeconds(8)));
            Assert.DoesNotContain("ObjectDisposedException", replicaA.Output);
            Assert.DoesNotContain("\"@l\":\"Error\"", replicaA.Output);
            Assert.Contains("its outcome is unknown", replicaA.Output);

            // A is gone and its write is still on its way: its lock stays, with a lifetime, instead of being deleted.
            Assert.True(await database.KeyExistsAsync(lockKey), "the abandoned change's lock was deleted");
            Assert.True(await database.KeyTimeToLiveAsync(lockKey) > TimeSpan.Zero, "the abandoned change's lock never runs out");
            second = clientB.PatchAsync($"/organizations/{Tokens.OrgA}", Metadata("""{"metadata":{"seats":"40"}}"""));
            await Poll.UntilAsync(() => locksB.Refusals >= 8 || second.IsCompleted, "replica B's change queues behind the lock");
            Assert.False(second.IsCompleted, "replica B's change went ahead while A's write could still land");
            Assert.Single(scalekit.Requests("GET", $"/api/v1/organizations/{Tokens.OrgA}"));
        }
        finally
        {
            // A's write lands at Scalekit while B waits.
            release.TrySetResult();
        }

        // Once the lock runs out B reads the map A's write left, so neither change is lost.
        using var answer = await second.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
        var metadata = scalekit.Stored(Tokens.OrgA)!["metadata"]!.AsObject().ToDictionary(pair => pair.Key, pair => (string)pair.Value!);
        Assert.Equal(new Dictionary<string, string> { ["tier"] = "gold", ["plan"] = "pro", ["seats"] = "40" }, metadata);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => abandoned.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
