using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Api.Tests.Idempotency;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Faults;

public sealed class ConcurrentCreateTests : IDisposable
{
    private const int Intents = 16;
    private readonly ShortTimeoutFixture _api = new();
    private readonly TaskCompletionSource _releaseHungCalls = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, int> _createsByExternalId = new(StringComparer.Ordinal);

    public void Dispose()
    {
        _releaseHungCalls.TrySetResult();
        _api.Dispose();
    }

    [Fact]
    public async Task ParallelCreatesWithRetriesUnderFaultsLeaveExactlyOneOrganizationPerKeyAndAgreeOnIt()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(FirstCreateOfEachIntentFails));

        var answers = await Task.WhenAll(Enumerable.Range(0, Intents).Select(RunIntentAsync));

        foreach (var (externalId, responses) in answers)
        {
            Assert.All(responses, r => Assert.True(
                r.Status is HttpStatusCode.Created or HttpStatusCode.Conflict or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout,
                $"{externalId}: unexpected {(int)r.Status}"));
            var id = Assert.Single(_api.Fake.OrganizationsWithExternalId(externalId));
            var created = responses.Where(r => r.Status == HttpStatusCode.Created).ToList();
            Assert.NotEmpty(created);
            Assert.All(created, r => Assert.Equal(id, r.OrganizationId));
            Assert.All(created, r => Assert.Equal($"/organizations/{id}", r.Location));
        }
    }

    // Fault by intent: 503 before creating, connection broken after creating, hang after creating, or none.
    private async Task<IResponseMessage> FirstCreateOfEachIntentFails(IRequestMessage request)
    {
        using var body = JsonDocument.Parse(request.Body!);
        var externalId = body.RootElement.GetProperty("external_id").GetString()!;
        var attempt = _createsByExternalId.AddOrUpdate(externalId, 1, (_, count) => count + 1);
        var intent = int.Parse(externalId.Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture);
        if (attempt > 1 || intent % 4 == 3)
        {
            return _api.Fake.CreateOrganization(request);
        }

        switch (intent % 4)
        {
            case 0:
                return ScalekitFake.Json(503, new { code = 14, message = "unavailable" });
            case 1:
                // The connection fault registered for this intent swallows the answer.
                return _api.Fake.CreateOrganization(request);
            default:
                var created = _api.Fake.CreateOrganization(request);
                await _releaseHungCalls.Task;
                return created;
        }
    }

    // One client intent: a double submit, then sequential retries with the same key until it has an organization.
    private async Task<(string ExternalId, List<Answer> Responses)> RunIntentAsync(int intent)
    {
        var externalId = $"concurrent-{intent}";
        if (intent % 4 == 1)
        {
            _api.Fake.BreakNextConnection("POST", "/api/v1/organizations", afterHandling: true, bodyContains: $"\"{externalId}\"");
        }

        var key = $"\"{Guid.NewGuid()}\"";
        var body = new { displayName = $"Intent {intent}", externalId };
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        async Task<Answer> SendAsync() => await Answer.ReadAsync(await client.SendAsync(IdempotentCreateTests.Create(body, key)));

        var responses = (await Task.WhenAll(SendAsync(), SendAsync())).ToList();
        for (var retry = 0; retry < 4 && responses.All(r => r.Status != HttpStatusCode.Created); retry++)
        {
            responses.Add(await SendAsync());
        }

        // One more, after success: it must be the replay of the same organization.
        responses.Add(await SendAsync());
        return (externalId, responses);
    }

    private sealed record Answer(HttpStatusCode Status, string? OrganizationId, string? Location)
    {
        public static async Task<Answer> ReadAsync(HttpResponseMessage response)
        {
            string? id = null;
            if (response.StatusCode == HttpStatusCode.Created)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                id = json.RootElement.GetProperty("id").GetString();
            }

            return new Answer(response.StatusCode, id, response.Headers.Location?.OriginalString);
        }
    }
}
