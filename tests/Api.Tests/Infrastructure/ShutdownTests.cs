using System.Net;

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
}
