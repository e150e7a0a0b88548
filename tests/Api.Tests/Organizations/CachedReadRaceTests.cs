using System.Net;
using System.Text.Json;

namespace Api.Tests.Organizations;

/// <summary>A change that lands while a cached read of the same organization is still on its way back from Scalekit.</summary>
public sealed class CachedReadRaceTests : IClassFixture<CachedApiFixture>
{
    private readonly CachedApiFixture _api;

    public CachedReadRaceTests(CachedApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
    }

    public static TheoryData<string, string?> Changes => new()
    {
        { "DELETE", null },
        { "PATCH", """{"displayName":"Acme Renamed"}""" },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task AReadInFlightDuringAChangeDoesNotLeaveTheOldBodyForLaterReads(string method, string? body)
    {
        var id = $"org_race{Guid.NewGuid():N}"[..24];
        _api.Fake.AddOrganization(id, displayName: "Acme");
        var admin = _api.Client(_api.Tokens.User(id, ["organizations:read", "organizations:delete"], roles: ["admin"]));
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _api.Fake.HoldNextOrganizationRead(arrived, release.Task);

        var early = admin.GetAsync($"/organizations/{id}");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var change = new HttpRequestMessage(new HttpMethod(method), $"/organizations/{id}")
        {
            Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        var changed = await admin.SendAsync(change);
        Assert.True(changed.IsSuccessStatusCode, $"{(int)changed.StatusCode}");
        var during = admin.GetAsync($"/organizations/{id}");
        release.SetResult();
        var earlyAnswer = await early;
        var duringAnswer = await during;
        var later = await admin.GetAsync($"/organizations/{id}");

        // The early read began before the change: either body is a true answer for it. The others began after the
        // change answered and must not see what it replaced, neither by joining that read nor from what it stored.
        Assert.Equal(HttpStatusCode.OK, earlyAnswer.StatusCode);
        await AssertShowsTheChange(method, duringAnswer);
        await AssertShowsTheChange(method, later);
    }

    private static async Task AssertShowsTheChange(string method, HttpResponseMessage response)
    {
        if (method == "DELETE")
        {
            await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
            return;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Acme Renamed", body.RootElement.GetProperty("displayName").GetString());
    }
}
