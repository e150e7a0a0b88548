using System.Net;
using Api.Tests.Idempotency;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Faults;

/// <summary>
/// A client creates an organization with an Idempotency-Key and an externalId, a fault hits the first attempt, the
/// client retries with the same key: Scalekit ends up with exactly one organization, and the retries agree on it.
/// </summary>
public sealed class CreateUnderFaultsTests : IClassFixture<ShortTimeoutFixture>, IDisposable
{
    private readonly ShortTimeoutFixture _api;
    private readonly TaskCompletionSource _releaseHungCalls = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CreateUnderFaultsTests(ShortTimeoutFixture api)
    {
        _api = api;
        _api.Fake.Reset();
    }

    public void Dispose() => _releaseHungCalls.TrySetResult();

    public static TheoryData<string, HttpStatusCode, int, int, int> Faults => new()
    {
        // fault, first answer, creates Scalekit received from the first request, creates it received in all, lookups by externalId
        { "500", HttpStatusCode.BadGateway, 1, 2, 1 },
        { "503", HttpStatusCode.BadGateway, 1, 2, 1 },
        { "429 with Retry-After", HttpStatusCode.ServiceUnavailable, 1, 2, 0 },
        { "redirect", HttpStatusCode.BadGateway, 1, 2, 1 },
        { "connection reset before creating", HttpStatusCode.BadGateway, 0, 1, 1 },
        { "connection reset after creating", HttpStatusCode.BadGateway, 1, 1, 1 },
        { "timeout after creating", HttpStatusCode.GatewayTimeout, 1, 1, 1 },
        { "malformed body after creating", HttpStatusCode.BadGateway, 1, 1, 1 },
        { "revoked management token", HttpStatusCode.Created, 2, 2, 0 },
        { "management token endpoint down", HttpStatusCode.ServiceUnavailable, 1, 2, 0 },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task EveryClientIntentCreatesExactlyOneOrganizationWhateverTheFault(
        string fault, HttpStatusCode firstAnswer, int firstCreates, int totalCreates, int lookups)
    {
        // A management token is cached before the fault, as in a running service.
        await _api.Client().GetAsync("/health/ready");
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var externalId = $"crm/{Guid.NewGuid():N} x";
        var key = $"\"{Guid.NewGuid()}\"";
        var body = new { displayName = "Faulty Ltd", externalId };
        var stubs = Inject(fault);

        var first = await client.SendAsync(IdempotentCreateTests.Create(body, key));
        _releaseHungCalls.TrySetResult();
        await _api.Fake.WhenReceived("POST", "/api/v1/organizations", firstCreates);
        var createsByFirst = CreatesFor(externalId);
        stubs.ForEach(stub => _api.Fake.Server.DeleteMapping(stub));
        var retry = await client.SendAsync(IdempotentCreateTests.Create(body, key));
        var replay = await client.SendAsync(IdempotentCreateTests.Create(body, key));

        Assert.True(firstAnswer == first.StatusCode, $"{fault}: first answer {(int)first.StatusCode}: {await first.Content.ReadAsStringAsync()}");
        if (firstAnswer != HttpStatusCode.Created)
        {
            await ProblemAssert.IsProblem(first, firstAnswer);
        }

        Assert.Equal(firstCreates, createsByFirst);
        Assert.True(HttpStatusCode.Created == retry.StatusCode, $"{fault}: retry answered {(int)retry.StatusCode}: {await retry.Content.ReadAsStringAsync()}");
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        var id = Assert.Single(_api.Fake.OrganizationsWithExternalId(externalId));
        Assert.Equal($"/organizations/{id}", retry.Headers.Location?.OriginalString);
        Assert.Equal(retry.Headers.Location, replay.Headers.Location);
        Assert.Equal(totalCreates, CreatesFor(externalId));
        Assert.Equal(lookups, _api.Fake.Requests("GET", "/api/v1/organizations:external/").Count);
    }

    [Fact]
    public async Task AfterAnUnknownOutcomeEveryRetryReconcilesUntilOneSucceeds()
    {
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var body = new { displayName = "Stubborn", externalId = $"stubborn-{Guid.NewGuid():N}" };
        var key = $"\"{Guid.NewGuid()}\"";
        var create = Inject("503");
        var lookup = Guid.NewGuid();
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations:external/*").UsingGet()).AtPriority(1).WithGuid(lookup)
            .RespondWith(Response.Create().WithStatusCode(400).WithBody("""{"code":3,"message":"try later"}"""));

        var first = await client.SendAsync(IdempotentCreateTests.Create(body, key));
        create.ForEach(stub => _api.Fake.Server.DeleteMapping(stub));
        var failedLookup = await client.SendAsync(IdempotentCreateTests.Create(body, key));
        _api.Fake.Server.DeleteMapping(lookup);
        var retry = await client.SendAsync(IdempotentCreateTests.Create(body, key));

        await ProblemAssert.IsProblem(first, HttpStatusCode.BadGateway);
        await ProblemAssert.IsProblem(failedLookup, HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        // The failed lookup did not clear the doubt: the last retry looked again before creating.
        Assert.Equal(2, _api.Fake.Requests("GET", "/api/v1/organizations:external/").Count);
        Assert.Single(_api.Fake.OrganizationsWithExternalId(body.externalId));
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public async Task AnExternalIdThatCannotTravelAsAPathSegmentIsNeverLookedUpByPath(string externalId)
    {
        await _api.Client().GetAsync("/health/ready");
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var body = new { displayName = "Dotted", externalId };
        var key = $"\"{Guid.NewGuid()}\"";
        var stubs = Inject("connection reset before creating");

        var first = await client.SendAsync(IdempotentCreateTests.Create(body, key));
        stubs.ForEach(stub => _api.Fake.Server.DeleteMapping(stub));
        var retry = await client.SendAsync(IdempotentCreateTests.Create(body, key));

        await ProblemAssert.IsProblem(first, HttpStatusCode.BadGateway);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        // The URL would resolve "." and ".." away and carry the management token to another Scalekit path.
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    // "Someone Else": other values than the request's. "Faulty Ltd": the very values a caller who knows another
    // tenant's name and externalId would send, but the organization is older than the caller's first attempt.
    [Theory]
    [InlineData("Someone Else")]
    [InlineData("Faulty Ltd")]
    public async Task AnotherOrganizationHoldingTheExternalIdIsAConflictNotTheRetrysAnswer(string existingName)
    {
        await _api.Client().GetAsync("/health/ready");
        var externalId = $"taken-{Guid.NewGuid():N}";
        _api.Fake.AddOrganization(Tokens.OrgB, existingName, externalId: externalId);
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var body = new { displayName = "Faulty Ltd", externalId };
        var key = $"\"{Guid.NewGuid()}\"";
        var stubs = Inject("connection reset before creating");

        var first = await client.SendAsync(IdempotentCreateTests.Create(body, key));
        stubs.ForEach(stub => _api.Fake.Server.DeleteMapping(stub));
        var retry = await client.SendAsync(IdempotentCreateTests.Create(body, key));

        await ProblemAssert.IsProblem(first, HttpStatusCode.BadGateway);
        await ProblemAssert.IsProblem(retry, HttpStatusCode.Conflict);
        var answer = await retry.Content.ReadAsStringAsync();
        Assert.DoesNotContain(existingName, answer);
        Assert.DoesNotContain(Tokens.OrgB, answer);
        Assert.Null(retry.Headers.Location);
        Assert.Equal([Tokens.OrgB], _api.Fake.OrganizationsWithExternalId(externalId));
    }

    [Fact]
    public async Task AnOrganizationCreatedAfterTheUnknownAttemptEndedIsSomeoneElsesAndA409()
    {
        await _api.Client().GetAsync("/health/ready");
        var externalId = $"later-{Guid.NewGuid():N}";
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var body = new { displayName = "Victim Inc", externalId };
        var key = $"\"{Guid.NewGuid()}\"";
        var stubs = Inject("503");

        var first = await client.SendAsync(IdempotentCreateTests.Create(body, key));
        stubs.ForEach(stub => _api.Fake.Server.DeleteMapping(stub));
        // Another tenant creates the very same values a minute after that attempt gave up.
        _api.Fake.AddOrganization(Tokens.OrgB, "Victim Inc", externalId: externalId,
            metadata: new() { ["billing_plan"] = "secret" }, createdAt: DateTimeOffset.UtcNow.AddMinutes(1));
        var retry = await client.SendAsync(IdempotentCreateTests.Create(body, key));

        await ProblemAssert.IsProblem(first, HttpStatusCode.BadGateway);
        await ProblemAssert.IsProblem(retry, HttpStatusCode.Conflict);
        var answer = await retry.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Tokens.OrgB, answer);
        Assert.DoesNotContain("secret", answer);
    }

    [Fact]
    public async Task ACallerWhoHangsUpMidCreateGetsTheStoredAnswerOnRetryNotAReconciliation()
    {
        // Not the class's short timeouts: the create is held at the fake until its caller has hung up, which on a busy
        // machine outlasted the 1 s attempt (the caller was answered 504 and never hung up).
        using var api = new UnhurriedApiFixture();
        await api.Client().GetAsync("/health/ready");
        var client = api.Client(api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var body = new { displayName = "Impatient Ltd", externalId = $"hangup-{Guid.NewGuid():N}" };
        var key = $"\"{Guid.NewGuid()}\"";
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stub = Guid.NewGuid();
        api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1).WithGuid(stub)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                arrived.TrySetResult();
                release.Task.Wait(TimeSpan.FromSeconds(10));
                return api.Fake.CreateOrganization(request);
            }));
        using var hangUp = new CancellationTokenSource();

        var first = client.SendAsync(IdempotentCreateTests.Create(body, key), hangUp.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await hangUp.CancelAsync();
        release.SetResult();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        // Until the abandoned attempt has finished and stored its answer, its key is in flight (409).
        HttpResponseMessage retry = null!;
        await Poll.UntilAsync(async () =>
        {
            retry = await client.SendAsync(IdempotentCreateTests.Create(body, key));
            return retry.StatusCode != HttpStatusCode.Conflict;
        }, "the abandoned create's answer is stored");
        api.Fake.Server.DeleteMapping(stub);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Single(api.Fake.OrganizationsWithExternalId(body.externalId));
        Assert.Empty(api.Fake.Requests("GET", "/api/v1/organizations:external/"));
    }

    [Fact]
    public async Task AnEmptyAnswerToACreateIsTreatedAsUnknownAndReconciled()
    {
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var body = new { displayName = "Empty Answer", externalId = $"empty-{Guid.NewGuid():N}" };
        var key = $"\"{Guid.NewGuid()}\"";
        var stub = Guid.NewGuid();
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1).WithGuid(stub)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                _api.Fake.CreateOrganization(request);
                return new ResponseMessage { FaultType = FaultType.EMPTY_RESPONSE };
            }));

        var first = await client.SendAsync(IdempotentCreateTests.Create(body, key));
        _api.Fake.Server.DeleteMapping(stub);
        var retry = await client.SendAsync(IdempotentCreateTests.Create(body, key));

        await ProblemAssert.IsProblem(first, HttpStatusCode.BadGateway);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Single(_api.Fake.OrganizationsWithExternalId(body.externalId));
        Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Fact]
    public async Task TheLookupByExternalIdKeepsTheColonLiteralAndTheIdOneSegment()
    {
        await _api.Client().GetAsync("/health/ready");
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var stubs = Inject("connection reset after creating");
        var body = new { displayName = "Paths Inc", externalId = "crm/42 é" };
        var key = $"\"{Guid.NewGuid()}\"";

        await client.SendAsync(IdempotentCreateTests.Create(body, key));
        stubs.ForEach(stub => _api.Fake.Server.DeleteMapping(stub));
        await client.SendAsync(IdempotentCreateTests.Create(body, key));

        var lookup = Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations:external/"));
        Assert.Equal("/api/v1/organizations:external/crm%2F42%20%C3%A9", new Uri(lookup.RequestMessage.Url).AbsolutePath);
    }

    [Fact]
    public async Task WithoutAKeyAFaultyCreateIsSentOnceAndNeverRetried()
    {
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        Inject("timeout after creating");

        var response = await client.SendAsync(IdempotentCreateTests.Create(new { displayName = "Once Only" }, key: null));
        _releaseHungCalls.TrySetResult();
        await _api.Fake.WhenReceived("POST", "/api/v1/organizations", 1);

        await ProblemAssert.IsProblem(response, HttpStatusCode.GatewayTimeout);
        Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    private int CreatesFor(string externalId) =>
        _api.Fake.Requests("POST", "/api/v1/organizations").Count(e => e.RequestMessage.Body?.Contains(Escaped(externalId), StringComparison.Ordinal) == true);

    private static string Escaped(string value) => System.Text.Json.JsonSerializer.Serialize(value)[1..^1];

    private List<Guid> Inject(string fault)
    {
        var fake = _api.Fake;
        var stub = Guid.NewGuid();
        var create = Request.Create().WithPath("/api/v1/organizations").UsingPost();
        var response = fault switch
        {
            "500" => Response.Create().WithStatusCode(500).WithBody("""{"code":13,"message":"internal"}"""),
            "503" => Response.Create().WithStatusCode(503),
            "429 with Retry-After" => Response.Create().WithStatusCode(429).WithHeader("Retry-After", "7"),
            "redirect" => Response.Create().WithStatusCode(307).WithHeader("Location", $"{fake.Url}/elsewhere"),
            "connection reset before creating" or "connection reset after creating" => null,
            "timeout after creating" => Response.Create().WithCallback(async request =>
            {
                var created = fake.CreateOrganization(request);
                await _releaseHungCalls.Task;
                return created;
            }),
            "malformed body after creating" => Response.Create().WithCallback(request =>
            {
                fake.CreateOrganization(request);
                return ScalekitFake.Raw(201, """{"organization": {"id": "org_""");
            }),
            "revoked management token" or "management token endpoint down" =>
                Response.Create().WithStatusCode(401).WithBody("""{"code":16,"message":"token expired"}"""),
            _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, null),
        };

        if (response is null)
        {
            fake.BreakNextConnection("POST", "/api/v1/organizations", afterHandling: fault.EndsWith("after creating", StringComparison.Ordinal));
            return [];
        }

        if (fault is "revoked management token" or "management token endpoint down")
        {
            create = create.WithHeader("Authorization", $"Bearer {fake.CurrentManagementToken}");
        }

        fake.Server.Given(create).AtPriority(1).WithGuid(stub).RespondWith(response);
        if (fault is not "management token endpoint down")
        {
            return [stub];
        }

        var tokenStub = Guid.NewGuid();
        fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1).WithGuid(tokenStub)
            .RespondWith(Response.Create().WithStatusCode(503));
        return [stub, tokenStub];
    }
}
