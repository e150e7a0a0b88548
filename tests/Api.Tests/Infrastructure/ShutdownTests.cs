using System.Net;
using System.Net.Http.Json;

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

        await using var api = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string>
        {
            ["DOTNET_shutdownTimeoutSeconds"] = "2",
            // Scalekit's own timeouts far beyond the deadline: only the deadline can end this create.
            ["Scalekit__Resilience__AttemptTimeout__Timeout"] = "00:01:00",
            ["Scalekit__Resilience__TotalRequestTimeout__Timeout"] = "00:02:00",
            ["Scalekit__Resilience__CircuitBreaker__SamplingDuration"] = "00:02:00",
            // A key's lease must outlast such a create (a lookup, then the create: 3 minutes), or startup stops.
            ["Idempotency__InFlightTimeout"] = "00:05:00",
        });
        using var http = await api.ClientAsync(new Tokens(scalekit).User(Tokens.OrgA, ["organizations:create"]));

        var create = http.PostAsJsonAsync("/organizations", new { displayName = "Late Ltd" });
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        api.Terminate();
        try
        {
            // Released only afterwards: before the fix the process waited for Scalekit's answer, however late.
            Assert.Equal(0, await api.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        }
        finally
        {
            release.TrySetResult();
        }

        // Past the deadline Kestrel drops the connection: there is nobody left to answer.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => create.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Application is shutting down", api.Output);
        Assert.DoesNotContain("ObjectDisposedException", api.Output);
        Assert.DoesNotContain("\"@l\":\"Error\"", api.Output);
    }
}
