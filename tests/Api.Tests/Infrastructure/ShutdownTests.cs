using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

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

        await using var api = ApiProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["Scalekit__EnvironmentUrl"] = scalekit.Url,
            ["Scalekit__ClientId"] = ScalekitFake.ClientId,
            ["Scalekit__ClientSecret"] = ScalekitFake.ClientSecret,
            ["Scalekit__Audiences__0"] = ScalekitFake.Audience,
        });
        var listening = await api.WaitForLineAsync("Now listening on", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(Regex.Match(listening, @"http://127\.0\.0\.1:\d+").Value) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            new Tokens(scalekit).User(Tokens.OrgA, ["organizations:read"]));

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
