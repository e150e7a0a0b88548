using System.Collections.Concurrent;
using System.Collections.Specialized;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using WireMock;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMock.Types;
using WireMock.Util;

namespace Api.Tests;

/// <summary>
/// A WireMock.Net stand-in for a Scalekit environment: JWKS, discovery, the client-credentials endpoint and the
/// organization routes. Tests add their own stubs on top (higher priority) to inject faults.
/// </summary>
public sealed class ScalekitFake : IDisposable
{
    public const string ClientId = "skc_test_api";
    public const string ClientSecret = "test-secret-never-logged";
    public const string Audience = "skc_test_app";

    private readonly ConcurrentDictionary<string, string> _organizations = new(StringComparer.Ordinal);
    private readonly Lock _createGate = new();
    private readonly List<ConnectionFault> _connectionFaults = [];
    private readonly List<StalledBody> _stalledBodies = [];
    private int _managementTokens;
    private int _organizationIds;
    private int _brokenConnections;
    private int _stalledAnswers;

    public ScalekitFake()
        : this(null)
    {
    }

    /// <param name="pickPort">Where to try to listen first (a free loopback port unless given): a test of the retry on a taken port.</param>
    internal ScalekitFake(Func<int>? pickPort)
    {
        Server = Loopback.OnFreePort(port => Task.FromResult(WireMockServer.Start(new WireMockServerSettings
        {
            Urls = [$"http://127.0.0.1:{port}"],
            PreWireMockMiddlewareInit = app => ((IApplicationBuilder)app).Use(BreakConnectionsAsync),
        })), pickPort).GetAwaiter().GetResult();
        Keys = [new TestKey("kid-1")];
        Reset();
    }

    public WireMockServer Server { get; }

    public string Url => Server.Urls[0];

    public string Issuer => Url;

    public List<TestKey> Keys { get; }

    public TestKey SigningKey => Keys[^1];

    /// <summary>The management token the fake issued last ("mgmt-N").</summary>
    public string CurrentManagementToken => $"mgmt-{Volatile.Read(ref _managementTokens)}";

    /// <summary>Connections broken by <see cref="BreakNextConnection"/> so far.</summary>
    public int BrokenConnections => Volatile.Read(ref _brokenConnections);

    /// <summary>Removes every stub and recorded request, then serves the healthy defaults again.</summary>
    public void Reset()
    {
        Server.Reset();
        _organizations.Clear();
        Interlocked.Exchange(ref _brokenConnections, 0);
        lock (_connectionFaults)
        {
            _connectionFaults.Clear();
        }

        Interlocked.Exchange(ref _stalledAnswers, 0);
        lock (_stalledBodies)
        {
            _stalledBodies.Clear();
        }

        ServeDefaults();
    }

    public void ResetRequests() => Server.ResetLogEntries();

    /// <summary>
    /// Scalekit revokes <paramref name="managementToken"/> (e.g. <c>mgmt-1</c>): organization reads carrying it get 401;
    /// a freshly issued token is still accepted.
    /// </summary>
    public void RevokeManagementToken(string managementToken) =>
        Server.Given(Request.Create().WithPath("/api/v1/organizations/*").UsingGet()
                .WithHeader("Authorization", $"Bearer {managementToken}")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(401).WithBody("""{"code":16,"message":"token expired"}"""));

    /// <summary>
    /// Breaks the TCP connection of the next request to <paramref name="method"/> <paramref name="path"/> (whose body
    /// contains <paramref name="bodyContains"/>, if given), which WireMock's own faults cannot do: before Scalekit sees
    /// the request, or after it acted on it (the answer is lost).
    /// </summary>
    public void BreakNextConnection(string method, string path, bool afterHandling, string? bodyContains = null)
    {
        lock (_connectionFaults)
        {
            _connectionFaults.Add(new ConnectionFault(method, path, afterHandling, bodyContains));
        }
    }

    /// <summary>Sends no answer at all to a GET of <paramref name="path"/> until <paramref name="release"/> completes: a hung Scalekit.</summary>
    public void HangGets(string path, Task release) =>
        Server.Given(Request.Create().WithPath(path).UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(async _ =>
            {
                await release;
                return Json(200, new { });
            }));

    /// <summary>Answers stalled by <see cref="StallNextAnswerBody"/> so far (WireMock's request log never sees them).</summary>
    public int StalledAnswers => Volatile.Read(ref _stalledAnswers);

    /// <summary>
    /// Answers the next request to <paramref name="method"/> <paramref name="path"/> with 200, its headers (an exact
    /// <c>Content-Length</c> of <paramref name="declaredLength"/>, which WireMock's own answers never send) and the start
    /// of a JSON body, then sends nothing more until <paramref name="release"/> completes (or the client hangs up): an
    /// upstream that stalls mid-body, after the headers already arrived.
    /// </summary>
    public void StallNextAnswerBody(string method, string path, Task release, long declaredLength = 1000)
    {
        lock (_stalledBodies)
        {
            _stalledBodies.Add(new StalledBody(method, path, release, declaredLength));
        }
    }

    public TestKey RotateKey()
    {
        var key = new TestKey($"kid-{Keys.Count + 1}");
        Keys.Add(key);
        return key;
    }

    /// <param name="createdAt">Scalekit's create_time; a fixed time in 2025 unless given.</param>
    public void AddOrganization(string id, string displayName = "Acme", string? externalId = null, Dictionary<string, string>? metadata = null,
        DateTimeOffset? createdAt = null) =>
        _organizations[id] = JsonSerializer.Serialize(new
        {
            id,
            display_name = displayName,
            external_id = externalId ?? "",
            metadata = metadata ?? new Dictionary<string, string> { ["tier"] = "gold" },
            region_code = "US",
            slug = "acme",
            logo_url = "",
            settings = new { features = new[] { new { name = "sso", enabled = true } } },
            create_time = createdAt?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture) ?? "2025-01-02T03:04:05.123456789Z",
            update_time = "2025-01-02T03:04:05Z",
            some_future_field = new { nested = true },
        });

    /// <summary>The organization as the fake holds it now (Scalekit's snake_case JSON), or null when there is none.</summary>
    public JsonObject? Stored(string id) => _organizations.TryGetValue(id, out var json) ? JsonNode.Parse(json)!.AsObject() : null;

    /// <summary>Ids of the organizations the fake holds with this external id (Scalekit allows one).</summary>
    public IReadOnlyList<string> OrganizationsWithExternalId(string externalId) =>
        _organizations.Where(pair => ExternalIdOf(pair.Value) == externalId).Select(pair => pair.Key).ToList();

    private static string? ExternalIdOf(string organizationJson)
    {
        using var organization = JsonDocument.Parse(organizationJson);
        return organization.RootElement.TryGetProperty("external_id", out var value) ? value.GetString() : null;
    }

    public IReadOnlyList<ILogEntry> Requests(string method, string pathPrefix) =>
        Server.LogEntries
            .Where(e => string.Equals(e.RequestMessage.Method, method, StringComparison.OrdinalIgnoreCase)
                && e.RequestMessage.Path.StartsWith(pathPrefix, StringComparison.Ordinal))
            .ToList();

    /// <summary>
    /// Completes once the fake has logged at least <paramref name="count"/> such requests. WireMock logs a request after
    /// answering it, so a delayed or broken answer shows up late: wait for it instead of sleeping.
    /// </summary>
    public async Task WhenReceived(string method, string pathPrefix, int count)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check(object? sender, NotifyCollectionChangedEventArgs? args)
        {
            if (Requests(method, pathPrefix).Count >= count)
            {
                reached.TrySetResult();
            }
        }

        Server.LogEntriesChanged += Check;
        try
        {
            Check(null, null);
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            Server.LogEntriesChanged -= Check;
        }
    }

    /// <summary>
    /// Holds every JWKS fetch until <paramref name="release"/> completes (30 s at most), then answers it with the keys the
    /// fake holds by then (a key rotated in meanwhile included); <paramref name="arrived"/> completes when the first fetch
    /// reaches the fake.
    /// </summary>
    public void HoldKeyFetches(TaskCompletionSource arrived, Task release) =>
        Server.Given(Request.Create().WithPath("/keys").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(_ =>
            {
                arrived.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(30));
                return Json(200, new { keys = Keys.Select(k => k.ToJwk()).ToArray() });
            }));

    /// <summary>
    /// Holds every organization read until <paramref name="release"/> completes (30 s at most), then answers it with
    /// the organization as it was when the read arrived; <paramref name="arrived"/> completes as soon as the first read
    /// reaches the fake.
    /// </summary>
    public void HoldOrganizationReads(TaskCompletionSource arrived, Task release) =>
        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations/[^/]+$")).UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                // Read on arrival, answered on release: like a reply delayed on the way back.
                var answer = GetOrganization(request);
                Interlocked.Increment(ref _organizationReadsArrived);
                arrived.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(30));
                return answer;
            }));

    /// <summary>
    /// Holds the next organization read until <paramref name="release"/> completes (30 s at most), then answers it with
    /// the organization as it was when the read arrived; <paramref name="arrived"/> completes when it reaches the fake.
    /// Later reads are answered at once. Like one reply delayed on the way back.
    /// </summary>
    public void HoldNextOrganizationRead(TaskCompletionSource arrived, Task release)
    {
        var held = 0;
        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations/[^/]+$")).UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var answer = GetOrganization(request);
                if (Interlocked.Exchange(ref held, 1) == 0)
                {
                    arrived.TrySetResult();
                    release.Wait(TimeSpan.FromSeconds(30));
                }

                return answer;
            }));
    }

    private int _organizationReadsArrived;

    /// <summary>Organization reads that reached <see cref="HoldOrganizationReads"/>, held ones included (the request log has only answered ones).</summary>
    public int OrganizationReadsArrived => Volatile.Read(ref _organizationReadsArrived);

    /// <summary>
    /// Holds every organization create on arrival, before acting on it, until <paramref name="release"/> completes
    /// (30 s at most), then applies and answers it; <paramref name="arrived"/> completes when the first reaches the fake.
    /// </summary>
    public void HoldOrganizationCreates(TaskCompletionSource arrived, Task release) =>
        Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                arrived.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(30));
                return CreateOrganization(request);
            }));

    /// <summary>
    /// Holds the next organization update on arrival, before acting on it, until <paramref name="release"/> completes
    /// (30 s at most), then applies and answers it; <paramref name="arrived"/> completes when it reaches the fake.
    /// Later updates are applied at once. Like a write that is slow to land at Scalekit.
    /// </summary>
    public void HoldNextOrganizationUpdate(TaskCompletionSource arrived, Task release)
    {
        var held = 0;
        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations/[^/]+$")).UsingPatch()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(request =>
            {
                if (Interlocked.Exchange(ref held, 1) == 0)
                {
                    arrived.TrySetResult();
                    release.Wait(TimeSpan.FromSeconds(30));
                }

                return UpdateOrganization(request);
            }));
    }

    public int JwksFetches => Requests("GET", "/keys").Count;

    public int TokenRequests => Requests("POST", "/oauth/token").Count;

    public void Dispose() => Server.Stop();

    private void ServeDefaults()
    {
        Server.Given(Request.Create().WithPath("/keys").UsingGet()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(_ => Json(200, new { keys = Keys.Select(k => k.ToJwk()).ToArray() })));

        Server.Given(Request.Create().WithPath("/.well-known/openid-configuration").UsingGet()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(_ => Json(200, new { issuer = Issuer, jwks_uri = $"{Url}/keys", token_endpoint = $"{Url}/oauth/token" })));

        Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(IssueManagementToken));

        Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(CreateOrganization));

        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations/[^/]+$")).UsingGet()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(GetOrganization));

        Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingGet()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(ListOrganizations));

        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations:external/.+$")).UsingGet()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(GetOrganizationByExternalId));

        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations/[^/]+$")).UsingPatch()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(UpdateOrganization));

        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations/[^/]+$")).UsingDelete()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(DeleteOrganization));

        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations/[^/]+/settings$")).UsingPatch()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(UpdateSettings));

        Server.Given(Request.Create().WithPath(new WireMock.Matchers.RegexMatcher("^/api/v1/organizations/[^/]+/portal_links$")).UsingPut()).AtPriority(100)
            .RespondWith(Response.Create().WithCallback(GeneratePortalLink));
    }

    private async Task BreakConnectionsAsync(HttpContext context, Func<Task> next)
    {
        if (TakeStalledAnswer(context.Request) is { } stalled)
        {
            Interlocked.Increment(ref _stalledAnswers);
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = stalled.DeclaredLength;
            await context.Response.WriteAsync("""{"organization":{"id":"org_""");
            await context.Response.Body.FlushAsync();
            await stalled.Release.WaitAsync(context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            context.Abort();
            return;
        }

        var fault = await TakeConnectionFaultAsync(context.Request);
        if (fault is null)
        {
            await next();
            return;
        }

        if (fault.AfterHandling)
        {
            // Let the request be handled (and logged), swallow its answer, then drop the connection.
            context.Response.Body = Stream.Null;
            await next();
        }

        Interlocked.Increment(ref _brokenConnections);
        context.Abort();
    }

    private StalledBody? TakeStalledAnswer(HttpRequest request)
    {
        lock (_stalledBodies)
        {
            var index = _stalledBodies.FindIndex(s => HttpMethods.Equals(s.Method, request.Method) && request.Path == s.Path);
            if (index < 0)
            {
                return null;
            }

            var stalled = _stalledBodies[index];
            _stalledBodies.RemoveAt(index);
            return stalled;
        }
    }

    private sealed record StalledBody(string Method, string Path, Task Release, long DeclaredLength);

    private async Task<ConnectionFault?> TakeConnectionFaultAsync(HttpRequest request)
    {
        lock (_connectionFaults)
        {
            if (_connectionFaults.Count == 0)
            {
                return null;
            }
        }

        request.EnableBuffering();
        var body = await new StreamReader(request.Body).ReadToEndAsync();
        request.Body.Position = 0;
        lock (_connectionFaults)
        {
            var fault = _connectionFaults.Find(f => HttpMethods.Equals(f.Method, request.Method) && request.Path == f.Path
                && (f.BodyContains is null || body.Contains(f.BodyContains, StringComparison.Ordinal)));
            if (fault is not null)
            {
                _connectionFaults.Remove(fault);
            }

            return fault;
        }
    }

    private sealed record ConnectionFault(string Method, string Path, bool AfterHandling, string? BodyContains);

    /// <summary>Scalekit's token endpoint: a management token for this API's client credentials. Public so stubs can wrap it.</summary>
    public ResponseMessage IssueManagementToken(IRequestMessage request)
    {
        var form = request.Body ?? "";
        if (!form.Contains("grant_type=client_credentials", StringComparison.Ordinal)
            || !form.Contains($"client_id={ClientId}", StringComparison.Ordinal)
            || !form.Contains($"client_secret={ClientSecret}", StringComparison.Ordinal))
        {
            return Json(401, new { error = "invalid_client" });
        }

        var number = Interlocked.Increment(ref _managementTokens);
        return Json(200, new { access_token = $"mgmt-{number}", token_type = "Bearer", expires_in = 86399, scope = "openid" });
    }

    /// <summary>
    /// Scalekit's create: 201 with the new organization, or 409 when its external id is taken. Public so fault stubs
    /// can let the create happen and then break the answer.
    /// </summary>
    public ResponseMessage CreateOrganization(IRequestMessage request)
    {
        if (!Authorized(request))
        {
            return Unauthenticated();
        }

        using var body = JsonDocument.Parse(request.Body ?? "{}");
        var root = body.RootElement;
        lock (_createGate)
        {
            if (root.TryGetProperty("external_id", out var wanted) && wanted.GetString() is { Length: > 0 } externalId
                && OrganizationsWithExternalId(externalId).Count > 0)
            {
                return Json(409, new { code = 6, message = "organization with this external_id already exists" });
            }

            return Raw(201, $"{{\"organization\":{Store(root)}}}");
        }
    }

    private string Store(JsonElement root)
    {
        var id = $"org_{Interlocked.Increment(ref _organizationIds) + 1000}";
        var organization = new Dictionary<string, object?>
        {
            ["id"] = id,
            ["display_name"] = root.TryGetProperty("display_name", out var name) ? name.GetString() : null,
            ["external_id"] = root.TryGetProperty("external_id", out var external) ? external.GetString() : null,
            ["metadata"] = root.TryGetProperty("metadata", out var metadata) ? metadata.Deserialize<Dictionary<string, string>>() : null,
            ["region_code"] = root.TryGetProperty("region_code", out var region) ? region.GetString() : "US",
            ["slug"] = root.TryGetProperty("slug", out var slug) ? slug.GetString() : null,
            // Now, as Scalekit would: a retry tells its own earlier create from an older organization by this time.
            ["create_time"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            ["update_time"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
        };
        var json = JsonSerializer.Serialize(organization);
        _organizations[id] = json;
        return json;
    }

    private ResponseMessage GetOrganization(IRequestMessage request)
    {
        if (!Authorized(request))
        {
            return Unauthenticated();
        }

        var id = Uri.UnescapeDataString(request.Path["/api/v1/organizations/".Length..]);
        return _organizations.TryGetValue(id, out var json) ? Raw(200, $"{{\"organization\":{json}}}") : NotFound();
    }

    // Ordered by id; a next-page token is the page's last id, a previous-page token "<" + its first (opaque to the API).
    private ResponseMessage ListOrganizations(IRequestMessage request)
    {
        if (!Authorized(request))
        {
            return Unauthenticated();
        }

        var size = QueryValue(request, "page_size") is { } rawSize ? int.Parse(rawSize, System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (size > 100)
        {
            return InvalidArgument("page_size", "value must be between 0 and 100");
        }

        size = size == 0 ? 10 : size;
        var externalId = QueryValue(request, "external_id");
        var matching = _organizations
            .Select(pair => (Id: pair.Key, Node: JsonNode.Parse(pair.Value)!.AsObject()))
            .Where(org => externalId is null || (string?)org.Node["external_id"] == externalId)
            .OrderBy(org => org.Id, StringComparer.Ordinal)
            .ToList();
        var token = QueryValue(request, "page_token");
        var start = token switch
        {
            null => 0,
            ['<', .. var before] => Math.Max(0, matching.Count(org => string.CompareOrdinal(org.Id, before) < 0) - size),
            _ => matching.Count(org => string.CompareOrdinal(org.Id, token) <= 0),
        };
        var page = matching.Skip(start).Take(size).ToList();
        var next = page.Count > 0 && start + page.Count < matching.Count ? page[^1].Id : "";
        var previous = page.Count > 0 && start > 0 ? "<" + page[0].Id : "";
        return Raw(200, new JsonObject
        {
            ["organizations"] = new JsonArray([.. page.Select(org => (JsonNode)org.Node)]),
            ["next_page_token"] = next,
            ["prev_page_token"] = previous,
            ["total_size"] = matching.Count,
        }.ToJsonString());
    }

    private ResponseMessage GetOrganizationByExternalId(IRequestMessage request)
    {
        if (!Authorized(request))
        {
            return Unauthenticated();
        }

        // WireMock's Path is already decoded; the external id is one escaped segment of the raw URL.
        var externalId = Uri.UnescapeDataString(new Uri(request.Url).AbsolutePath["/api/v1/organizations:external/".Length..]);
        return OrganizationsWithExternalId(externalId) is [var id] ? Raw(200, $"{{\"organization\":{_organizations[id]}}}") : NotFound();
    }

    // Only the fields sent change; "" clears an optional string; metadata is replaced as a whole.
    private ResponseMessage UpdateOrganization(IRequestMessage request)
    {
        if (!Authorized(request))
        {
            return Unauthenticated();
        }

        var id = LastSegment(request);
        if (!_organizations.TryGetValue(id, out var json))
        {
            return NotFound();
        }

        var organization = JsonNode.Parse(json)!.AsObject();
        var patch = JsonNode.Parse(request.Body ?? "{}")!.AsObject();
        if (patch["region_code"] is { } region && (string?)region != (string?)organization["region_code"])
        {
            return InvalidArgument("region_code", "region_code cannot be changed");
        }

        foreach (var (name, value) in patch)
        {
            if (name is "display_name" or "external_id" or "metadata" or "slug" or "logo_url")
            {
                organization[name] = value?.DeepClone();
            }
        }

        organization["update_time"] = "2025-07-01T12:00:00Z";
        _organizations[id] = organization.ToJsonString();
        return Raw(200, $"{{\"organization\":{_organizations[id]}}}");
    }

    private ResponseMessage DeleteOrganization(IRequestMessage request)
    {
        if (!Authorized(request))
        {
            return Unauthenticated();
        }

        return _organizations.TryRemove(LastSegment(request), out _) ? Raw(200, "{}") : NotFound();
    }

    // Features named are set; others keep their state.
    private ResponseMessage UpdateSettings(IRequestMessage request)
    {
        if (!Authorized(request))
        {
            return Unauthenticated();
        }

        var id = request.Path.Split('/')[^2];
        if (!_organizations.TryGetValue(id, out var json))
        {
            return NotFound();
        }

        var organization = JsonNode.Parse(json)!.AsObject();
        var features = organization["settings"]?["features"]?.AsArray() ?? [];
        foreach (var change in JsonNode.Parse(request.Body ?? "{}")!["features"]!.AsArray())
        {
            var existing = features.FirstOrDefault(f => (string?)f!["name"] == (string?)change!["name"]);
            if (existing is not null)
            {
                existing["enabled"] = change!["enabled"]!.DeepClone();
            }
            else
            {
                features.Add(change!.DeepClone());
            }
        }

        organization["settings"] = new JsonObject { ["features"] = features.DeepClone() };
        _organizations[id] = organization.ToJsonString();
        return Raw(200, $"{{\"organization\":{_organizations[id]}}}");
    }

    private ResponseMessage GeneratePortalLink(IRequestMessage request)
    {
        if (!Authorized(request))
        {
            return Unauthenticated();
        }

        var id = request.Path.Split('/')[^2];
        if (request.Query?.TryGetValue("features", out var features) == true && features.Any(f => f is not ("sso" or "dir_sync")))
        {
            return InvalidArgument("features", "unknown feature");
        }

        return _organizations.ContainsKey(id)
            ? Json(200, new { link = new { id = "lnk_" + Guid.NewGuid().ToString("N")[..12], location = $"https://acme.scalekit.dev/magicLink/{id}", expire_time = "2025-07-08T12:00:00.123456789Z" } })
            : NotFound();
    }

    private static string? QueryValue(IRequestMessage request, string name) =>
        request.Query?.TryGetValue(name, out var values) == true && values.Count > 0 && values[0].Length > 0 ? values[0] : null;

    private static string LastSegment(IRequestMessage request) => request.Path[(request.Path.LastIndexOf('/') + 1)..];

    private static ResponseMessage NotFound() =>
        Json(404, new { code = 5, message = "organization not found", details = new[] { new Dictionary<string, string> { ["@type"] = "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo", ["error_code"] = "NOT_FOUND" } } });

    private static ResponseMessage InvalidArgument(string field, string description) =>
        Json(400, new
        {
            code = 3,
            message = description,
            details = new object[]
            {
                new Dictionary<string, object>
                {
                    ["@type"] = "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo",
                    ["error_code"] = "INVALID_ARGUMENT",
                    ["validation_error_info"] = new { field_violations = new[] { new { field, description } } },
                },
            },
        });

    private bool Authorized(IRequestMessage request) =>
        request.Headers is not null
        && request.Headers.TryGetValue("Authorization", out var values)
        && values.Contains($"Bearer {CurrentManagementToken}");

    private static ResponseMessage Unauthenticated() =>
        Json(401, new { code = 16, message = "token is invalid" });

    public static ResponseMessage Json(int status, object body) => Raw(status, JsonSerializer.Serialize(body));

    public static ResponseMessage Raw(int status, string body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
        BodyData = new BodyData { BodyAsString = body, DetectedBodyType = BodyType.String },
    };
}
