using System.Net;
using System.Text.Json;
using Api.Organizations;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Infrastructure;

public sealed class OpenApiTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public OpenApiTests(ApiFixture api) => _api = api;

    [Fact]
    public async Task TheDocumentIsGeneratedOnceAndServedAlikeWhateverTheHost()
    {
        // Anonymous and unlimited, a generation cost about 15 ms of CPU: four connections asking for it took a cached
        // GET from 7200 to 500 requests a second. Built once, it cannot name the Host of whoever asked first either.
        var generations = 0;
        using var factory = _api.Factory.WithWebHostBuilder(host => host.ConfigureTestServices(services =>
            services.Configure<OpenApiOptions>("v1", options => options.AddDocumentTransformer((_, _, _) =>
            {
                Interlocked.Increment(ref generations);
                return Task.CompletedTask;
            }))));
        var client = factory.CreateClient();

        var bodies = new List<string>();
        foreach (var host in new[] { "evil.example:1234", "api.example.com", "evil.example:1234" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
            request.Headers.Host = host;
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            bodies.Add(await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(1, generations);
        Assert.All(bodies, body => Assert.Equal(bodies[0], body));
        Assert.DoesNotContain("evil.example", bodies[0]);
    }

    [Fact]
    public async Task TheDocumentDescribesEveryOperationWithBearerSecurityGrantsAndProblems()
    {
        var response = await _api.Client().GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.Equal("bearer", root.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("scheme").GetString());

        var operations = root.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (Name: $"{op.Name.ToUpperInvariant()} {path.Name}", Op: op.Value)))
            .ToList();
        Assert.Contains(operations, o => o.Name == "POST /organizations");
        Assert.Contains(operations, o => o.Name == "GET /organizations/{id}");

        foreach (var (name, operation) in operations)
        {
            Assert.True(operation.TryGetProperty("security", out var security) && security.GetArrayLength() > 0, $"{name} has no security");
            Assert.True(operation.GetProperty("x-required-grants").GetArrayLength() > 0, $"{name} names no grant");
            var responses = operation.GetProperty("responses");
            // Every operation may fail unexpectedly: the exception handler answers that 500 as Problem Details too.
            foreach (var status in new[] { "400", "401", "403", "429", "500", "502", "503", "504" })
            {
                Assert.True(responses.TryGetProperty(status, out var problem), $"{name} lacks {status}");
                Assert.True(problem.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{name} {status} is not a problem");
            }
        }

        // A 404 comes only from an operation that names an organization (a Scalekit 404 to a create or a list is 502).
        Assert.Equal(
            ["DELETE /organizations/{id}", "GET /organizations/current", "GET /organizations/external/{externalId}", "GET /organizations/{id}",
                "PATCH /organizations/{id}", "PATCH /organizations/{id}/settings", "POST /organizations/{id}/portal-links"],
            operations.Where(o => o.Op.GetProperty("responses").TryGetProperty("404", out _)).Select(o => o.Name).Order(StringComparer.Ordinal));

        // A 409 comes from Scalekit refusing values another organization holds (an externalId), which only a create or
        // an update sends, and from an Idempotency-Key still in flight, which only a create takes.
        Assert.Equal(
            ["PATCH /organizations/{id}", "POST /organizations"],
            operations.Where(o => o.Op.GetProperty("responses").TryGetProperty("409", out _)).Select(o => o.Name).Order(StringComparer.Ordinal));

        var create = operations.Single(o => o.Name == "POST /organizations").Op;
        Assert.Equal("organizations:create", create.GetProperty("x-required-grants")[0].GetString());
        Assert.True(create.GetProperty("responses").TryGetProperty("201", out _));
        Assert.True(create.GetProperty("responses").TryGetProperty("409", out _));
        Assert.True(create.GetProperty("responses").TryGetProperty("422", out _));
        Assert.Contains(create.GetProperty("parameters").EnumerateArray(),
            p => p.GetProperty("name").GetString() == "Idempotency-Key" && p.GetProperty("in").GetString() == "header");
    }

    [Fact]
    public async Task TheOrganizationsSurfaceIsDescribedInThisApisCamelCaseContract()
    {
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");

        var list = paths.GetProperty("/organizations").GetProperty("get");
        Assert.Equal(["pageSize", "pageToken", "externalId"], list.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var pageSize = list.GetProperty("parameters")[0].GetProperty("schema");
        Assert.Equal("integer", pageSize.GetProperty("type").GetString());
        Assert.Equal(1, pageSize.GetProperty("minimum").GetInt32());
        Assert.Equal(ListOrganizationsQuery.MaxPageSize, pageSize.GetProperty("maximum").GetInt32());

        var patch = paths.GetProperty("/organizations/{id}").GetProperty("patch");
        Assert.True(patch.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/merge-patch+json", out _));
        // regionCode is read from a PATCH only to be refused: it is not offered.
        Assert.Equal(
            ["displayName", "externalId", "logoUrl", "metadata", "slug"],
            schemas.GetProperty("UpdateOrganizationRequest").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        Assert.True(paths.GetProperty("/organizations/{id}").GetProperty("delete").GetProperty("responses").TryGetProperty("204", out _));
        Assert.Equal(
            ["expireTime", "id", "location"],
            schemas.GetProperty("PortalLinkResponse").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ThePortalLinkBodyAndItsFeaturesAreOptionalAsTheEndpointTreatsThem()
    {
        // Without a body, or with {}, the endpoint answers 200 (PortalLinkTests): a client generated from the document
        // must not be made to send features.
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var portalLinks = document.RootElement.GetProperty("paths").GetProperty("/organizations/{id}/portal-links").GetProperty("post");
        Assert.False(portalLinks.GetProperty("requestBody").TryGetProperty("required", out var bodyRequired) && bodyRequired.GetBoolean());
        var schema = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("PortalLinkRequest");
        Assert.True(schema.GetProperty("properties").TryGetProperty("features", out _));
        Assert.False(schema.TryGetProperty("required", out var required) && required.EnumerateArray().Any(name => name.GetString() == "features"),
            $"PortalLinkRequest requires {schema}");
    }

    [Fact]
    public async Task AMergePatchMayRemoveAMetadataKeyWithNullButACreateMayNot()
    {
        // PATCH {"metadata":{"plan":null}} removes "plan" (UpdateOrganizationTests); a client generated from a
        // document whose metadata values are strings only could not send it.
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");

        static string[] ValueTypes(JsonElement schema) =>
            schema.GetProperty("properties").GetProperty("metadata").GetProperty("additionalProperties").GetProperty("type") is var type
                && type.ValueKind == JsonValueKind.Array
                ? [.. type.EnumerateArray().Select(t => t.GetString()!).Order(StringComparer.Ordinal)]
                : [type.GetString()!];

        Assert.Equal(["null", "string"], ValueTypes(schemas.GetProperty("UpdateOrganizationRequest")));
        Assert.Equal(["string"], ValueTypes(schemas.GetProperty("CreateOrganizationRequest")));
    }

    [Fact]
    public async Task NumbersTheApiWritesAreDescribedAsIntegersNotAsStrings()
    {
        // The API writes totalSize and a problem's status as JSON numbers, never as strings.
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");

        foreach (var (schema, property) in new[] { ("OrganizationListResponse", "totalSize"), ("ProblemDetails", "status") })
        {
            var described = schemas.GetProperty(schema).GetProperty("properties").GetProperty(property);
            var types = described.GetProperty("type") is { ValueKind: JsonValueKind.Array } list
                ? list.EnumerateArray().Select(t => t.GetString()).ToArray()
                : [described.GetProperty("type").GetString()];
            Assert.DoesNotContain("string", types);
            Assert.Contains("integer", types);
            Assert.False(described.TryGetProperty("pattern", out _), $"{schema}.{property}: {described}");
        }
    }

    [Fact]
    public async Task DisplayNameIsDescribedAsAStringNeverNullOnCreateAndOnPatch()
    {
        // A null displayName is 400 on create ("displayName is required.") and on PATCH ("displayName cannot be cleared.").
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");

        foreach (var body in new[] { "CreateOrganizationRequest", "UpdateOrganizationRequest" })
        {
            var type = schemas.GetProperty(body).GetProperty("properties").GetProperty("displayName").GetProperty("type");
            Assert.True(type.ValueKind == JsonValueKind.String && type.GetString() == "string", $"{body}.displayName: {type}");
        }
    }

    [Fact]
    public async Task ASettingsChangesFeaturesAndEachNameAndEnabledAreDescribedAsNeverNull()
    {
        // {"features":null}, a null name and a null enabled are each 400 (UpdateOrganizationSettingsTests).
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");

        foreach (var (body, property, expected) in new[]
        {
            ("UpdateOrganizationSettingsRequest", "features", "array"),
            ("FeatureSettingRequest", "name", "string"),
            ("FeatureSettingRequest", "enabled", "boolean"),
        })
        {
            var type = schemas.GetProperty(body).GetProperty("properties").GetProperty(property).GetProperty("type");
            Assert.True(type.ValueKind == JsonValueKind.String && type.GetString() == expected, $"{body}.{property}: {type}");
        }
    }

    [Fact]
    public async Task TheLimitsTheValidatorsEnforceAreDescribedOnTheRequestBodies()
    {
        // Each is a 400 (CreateOrganizationTests, UpdateOrganizationSettingsTests, PortalLinkTests): a client generated
        // from a document that says "any string" would send them.
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        JsonElement Property(string body, string name) => schemas.GetProperty(body).GetProperty("properties").GetProperty(name);
        static string[] Enum(JsonElement schema) => [.. schema.GetProperty("enum").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? "(null)" : v.GetString()!)];

        Assert.Equal(["US", "EU", "(null)"], Enum(Property("CreateOrganizationRequest", "regionCode")));
        foreach (var body in new[] { "CreateOrganizationRequest", "UpdateOrganizationRequest" })
        {
            var slug = Property(body, "slug");
            Assert.Equal(253, slug.GetProperty("maxLength").GetInt32());
            var pattern = new System.Text.RegularExpressions.Regex(slug.GetProperty("pattern").GetString()!);
            Assert.Matches(pattern, "initech-2");
            Assert.DoesNotMatch(pattern, "Not_A_Slug");
            Assert.DoesNotMatch(pattern, "-edge");
            Assert.Equal(255, Property(body, "externalId").GetProperty("maxLength").GetInt32());
            Assert.Equal(1, Property(body, "externalId").GetProperty("minLength").GetInt32());
            Assert.Equal(1024, Property(body, "logoUrl").GetProperty("maxLength").GetInt32());
            Assert.Equal("^https://", Property(body, "logoUrl").GetProperty("pattern").GetString());
        }

        var metadata = Property("CreateOrganizationRequest", "metadata");
        Assert.Equal(OrganizationRules.MaxMetadataPairs, metadata.GetProperty("maxProperties").GetInt32());
        Assert.Equal(3, metadata.GetProperty("propertyNames").GetProperty("minLength").GetInt32());
        Assert.Equal(25, metadata.GetProperty("propertyNames").GetProperty("maxLength").GetInt32());
        Assert.Equal(256, metadata.GetProperty("additionalProperties").GetProperty("maxLength").GetInt32());

        var features = Property("UpdateOrganizationSettingsRequest", "features");
        Assert.Equal(1, features.GetProperty("minItems").GetInt32());
        Assert.Equal(20, features.GetProperty("maxItems").GetInt32());
        Assert.Equal("^[a-z0-9_-]{1,64}$", Property("FeatureSettingRequest", "name").GetProperty("pattern").GetString());
        Assert.Equal(["sso", "dir_sync"], Enum(Property("PortalLinkRequest", "features").GetProperty("items")));
    }

    [Fact]
    public async Task TheListQueryStatesTheLengthsItsValidatorAllows()
    {
        // A longer pageToken or externalId is 400 (ListOrganizationsTests).
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var parameters = document.RootElement.GetProperty("paths").GetProperty("/organizations").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema"));

        Assert.Equal(ListOrganizationsQuery.MaxPageTokenLength, parameters["pageToken"].GetProperty("maxLength").GetInt32());
        Assert.Equal(255, parameters["externalId"].GetProperty("maxLength").GetInt32());
    }

    [Fact]
    public async Task TheStatusesABodyCanDrawAreDocumentedOnEveryOperationReadsIncluded()
    {
        // The body rules answer any request that carries a body, whatever its method: a compressed body on a GET is 415,
        // an oversized one 413, one in a transfer coding other than chunked 501.
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        var compressed = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        compressed.Content.Headers.ContentEncoding.Add("gzip");
        var oversized = new HttpRequestMessage(HttpMethod.Delete, $"/organizations/{Tokens.OrgA}") { Content = new ByteArrayContent(new byte[70_000]) };
        var transferCoded = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}") { Content = new StringContent("{}") };
        transferCoded.Headers.TryAddWithoutValidation("Transfer-Encoding", "gzip, chunked");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await client.SendAsync(compressed)).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await client.SendAsync(oversized)).StatusCode);
        Assert.Equal(HttpStatusCode.NotImplemented, (await client.SendAsync(transferCoded)).StatusCode);

        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                foreach (var status in new[] { "413", "415", "501" })
                {
                    Assert.True(operation.Value.GetProperty("responses").TryGetProperty(status, out var problem), $"{operation.Name} {path.Name} lacks {status}");
                    Assert.True(problem.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{operation.Name} {path.Name} {status} is not a problem");
                }
            }
        }
    }

    [Fact]
    public async Task EveryProblemTheApiAnswersIsTheProblemSchemaTheDocumentGivesItsStatus()
    {
        // A client generated from the document reads problems through its schema: a member the schema lacks (traceId,
        // reason, requiredGrants) is out of its reach, and one the schema requires but a body lacks breaks it.
        _api.Fake.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/api/v1/organizations/org_502").UsingGet()).AtPriority(1)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(500));
        var member = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        var platform = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read_all"]));
        var creator = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var malformedCredentials = new HttpRequestMessage(HttpMethod.Get, "/organizations/current");
        malformedCredentials.Headers.TryAddWithoutValidation("Authorization", "Bearer a b");
        var transferCoded = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}") { Content = new StringContent("{}") };
        transferCoded.Headers.TryAddWithoutValidation("Transfer-Encoding", "gzip, chunked");
        var key = Guid.NewGuid().ToString();
        Task<HttpResponseMessage> CreateWithKey(string name) => creator.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/organizations")
        {
            Headers = { { "Idempotency-Key", key } },
            Content = new StringContent($$"""{"displayName":"{{name}}"}""", System.Text.Encoding.UTF8, "application/json"),
        });
        Assert.Equal(HttpStatusCode.Created, (await CreateWithKey("Initech")).StatusCode);
        // The conflicts: an Idempotency-Key whose first request is still running, an externalId Scalekit reports taken
        // by another organization on a create and on an update.
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _api.Fake.HoldOrganizationCreates(held, release.Task);
        var inFlightKey = Guid.NewGuid().ToString();
        Task<HttpResponseMessage> CreateInFlight() => creator.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/organizations")
        {
            Headers = { { "Idempotency-Key", inFlightKey } },
            Content = new StringContent("""{"displayName":"Held"}""", System.Text.Encoding.UTF8, "application/json"),
        });
        var running = CreateInFlight();
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var inFlight = await CreateInFlight();
        release.SetResult();
        Assert.Equal(HttpStatusCode.Created, (await running).StatusCode);
        var takenExternalId = $"taken-{Guid.NewGuid():N}";
        _api.Fake.AddOrganization("org_taken", externalId: takenExternalId);
        _api.Fake.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/api/v1/organizations/org_409").UsingPatch()).AtPriority(1)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(409).WithBody("""{"code":6,"message":"external_id taken"}"""));
        var writer = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:write_all"]));
        // A defect: the exception handler answers it.
        using var broken = _api.Factory.WithWebHostBuilder(host => host.ConfigureTestServices(services =>
            services.AddSingleton(FailingScalekit.Create())));
        var brokenReader = broken.CreateClient();
        brokenReader.DefaultRequestHeaders.Authorization = new("Bearer", _api.Tokens.User(Tokens.OrgA, ["organizations:read"]));

        var answers = new (string Operation, HttpResponseMessage Response)[]
        {
            ("post /organizations", inFlight),
            ("post /organizations", await creator.PostAsync("/organizations", new StringContent(
                $$"""{"displayName":"Copycat","externalId":"{{takenExternalId}}"}""", System.Text.Encoding.UTF8, "application/json"))),
            ("patch /organizations/{id}", await writer.PatchAsync("/organizations/org_409", new StringContent(
                $$"""{"externalId":"{{takenExternalId}}"}""", System.Text.Encoding.UTF8, "application/json"))),
            ("get /organizations/{id}", await brokenReader.GetAsync($"/organizations/{Tokens.OrgA}")),
            ("get /organizations/{id}", await _api.Client().GetAsync($"/organizations/{Tokens.OrgA}")),
            ("get /organizations/{id}", await _api.Client("not-a-token").GetAsync($"/organizations/{Tokens.OrgA}")),
            ("get /organizations", await member.GetAsync("/organizations")),
            ("get /organizations/{id}", await member.GetAsync($"/organizations/{Tokens.OrgB}")),
            ("get /organizations", await platform.GetAsync("/organizations?pageSize=0")),
            ("get /organizations/current", await _api.Client().SendAsync(malformedCredentials)),
            ("post /organizations", await creator.PostAsync("/organizations", new StringContent("x", System.Text.Encoding.UTF8, "text/plain"))),
            ("post /organizations", await creator.PostAsync("/organizations", new ByteArrayContent(new byte[70_000]))),
            ("post /organizations", await CreateWithKey("Globex")),
            ("get /organizations/{id}", await member.SendAsync(transferCoded)),
            ("get /organizations/{id}", await platform.GetAsync("/organizations/org_502")),
        };

        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        Assert.Equal(
            ["400", "401", "403", "404", "409", "413", "415", "422", "500", "501", "502"],
            answers.Select(answer => ((int)answer.Response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order(StringComparer.Ordinal));
        foreach (var (operation, response) in answers)
        {
            var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var body = await ProblemAssert.IsProblem(response, response.StatusCode);
            var (method, path) = (operation.Split(' ')[0], operation.Split(' ')[1]);
            Assert.True(document.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses").TryGetProperty(status, out var declared),
                $"{operation} answers {status}, which the document does not declare");
            var reference = declared
                .GetProperty("content").GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString()!;
            var schema = schemas.GetProperty(reference.Split('/')[^1]);
            var properties = schema.GetProperty("properties");

            foreach (var field in body.EnumerateObject())
            {
                Assert.True(properties.TryGetProperty(field.Name, out var described), $"{operation} {status}: {field.Name} is not in {reference}");
                Assert.Contains(JsonTypeOf(field.Value), TypesOf(described));
                if (described.TryGetProperty("enum", out var values))
                {
                    Assert.Contains(field.Value.GetString(), values.EnumerateArray().Select(value => value.GetString()));
                }
            }

            foreach (var required in schema.GetProperty("required").EnumerateArray())
            {
                Assert.True(body.TryGetProperty(required.GetString()!, out _), $"{operation} {status} lacks {required}: {body}");
            }
        }

        static string JsonTypeOf(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "integer",
            JsonValueKind.Array => "array",
            JsonValueKind.Object => "object",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            _ => "null",
        };

        static string[] TypesOf(JsonElement schema) => schema.GetProperty("type") is { ValueKind: JsonValueKind.Array } types
            ? [.. types.EnumerateArray().Select(type => type.GetString()!)]
            : [schema.GetProperty("type").GetString()!];
    }

    [Fact]
    public async Task EveryOperationAnswersAFailureNothingExpectedWithThe500ProblemItDeclares()
    {
        // A defect behind any operation (here: the Scalekit client itself fails) is answered by the exception handler: a
        // generated client must know that 500 and read it as the problem it is, not as an undeclared status.
        using var broken = _api.Factory.WithWebHostBuilder(host => host.ConfigureTestServices(services =>
            services.AddSingleton(FailingScalekit.Create())));
        var client = broken.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", _api.Tokens.User(Tokens.OrgA,
            ["organizations:create", "organizations:read", "organizations:read_all", "organizations:write_all", "organizations:delete"], ["admin"]));
        static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
        var id = $"/organizations/{Tokens.OrgA}";
        var requests = new (string Method, string Path, HttpRequestMessage Request)[]
        {
            ("post", "/organizations", new(HttpMethod.Post, "/organizations") { Content = Json("""{"displayName":"Initech"}""") }),
            ("get", "/organizations", new(HttpMethod.Get, "/organizations")),
            ("get", "/organizations/current", new(HttpMethod.Get, "/organizations/current")),
            ("get", "/organizations/external/{externalId}", new(HttpMethod.Get, "/organizations/external/crm-1")),
            ("get", "/organizations/{id}", new(HttpMethod.Get, id)),
            ("patch", "/organizations/{id}", new(HttpMethod.Patch, id) { Content = Json("""{"displayName":"Initech"}""") }),
            ("patch", "/organizations/{id}/settings", new(HttpMethod.Patch, $"{id}/settings") { Content = Json("""{"features":[{"name":"sso","enabled":true}]}""") }),
            ("delete", "/organizations/{id}", new(HttpMethod.Delete, id)),
            ("post", "/organizations/{id}/portal-links", new(HttpMethod.Post, $"{id}/portal-links")),
        };

        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        Assert.Equal(requests.Length, paths.EnumerateObject().Sum(path => path.Value.EnumerateObject().Count()));
        foreach (var (method, path, request) in requests)
        {
            var response = await client.SendAsync(request);

            var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.InternalServerError);
            Assert.False(problem.TryGetProperty("reason", out _));
            Assert.True(paths.GetProperty(path).GetProperty(method).GetProperty("responses").TryGetProperty("500", out var declared),
                $"{method} {path} answers 500, which the document does not declare");
            Assert.Equal("#/components/schemas/ProblemDetails",
                declared.GetProperty("content").GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString());
        }
    }

    [Fact]
    public async Task TheHeadersAClientActsOnAreDeclaredOnTheResponsesThatCarryThem()
    {
        // Where a created organization lives, that a create was replayed, what a 401 or 403 challenges, how long to wait
        // after a 503: a generated client exposes a response header only when the document declares it.
        _api.Fake.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath("/api/v1/organizations/org_429").UsingGet()).AtPriority(1)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(429).WithHeader("Retry-After", "3"));
        var member = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        var platform = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read_all"]));
        var creator = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        var key = Guid.NewGuid().ToString();
        Task<HttpResponseMessage> Create() => creator.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/organizations")
        {
            Headers = { { "Idempotency-Key", key } },
            Content = new StringContent("""{"displayName":"Initech"}""", System.Text.Encoding.UTF8, "application/json"),
        });

        var answers = new (string Operation, HttpResponseMessage Response, string[] Headers)[]
        {
            ("post /organizations", await Create(), ["Location"]),
            ("post /organizations", await Create(), ["Location", "Idempotent-Replayed"]),
            ("get /organizations/{id}", await _api.Client().GetAsync($"/organizations/{Tokens.OrgA}"), ["WWW-Authenticate"]),
            ("get /organizations/{id}", await _api.Client("not-a-token").GetAsync($"/organizations/{Tokens.OrgA}"), ["WWW-Authenticate"]),
            ("get /organizations", await member.GetAsync("/organizations"), ["WWW-Authenticate"]),
            ("get /organizations/{id}", await platform.GetAsync("/organizations/org_429"), ["Retry-After"]),
        };

        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        foreach (var (operation, response, headers) in answers)
        {
            var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var described = document.RootElement.GetProperty("paths").GetProperty(operation.Split(' ')[1]).GetProperty(operation.Split(' ')[0])
                .GetProperty("responses").GetProperty(status);
            foreach (var header in headers)
            {
                Assert.True(response.Headers.Contains(header), $"{operation} {status} did not send {header}");
                Assert.True(described.TryGetProperty("headers", out var declared) && declared.TryGetProperty(header, out _),
                    $"{operation} {status} sends {header}, which the document does not declare");
            }
        }

        var retryAfter = document.RootElement.GetProperty("paths").GetProperty("/organizations/{id}").GetProperty("get")
            .GetProperty("responses").GetProperty("503").GetProperty("headers").GetProperty("Retry-After");
        Assert.Equal("integer", retryAfter.GetProperty("schema").GetProperty("type").GetString());
        Assert.Contains(answers, answer => answer.Response.StatusCode == HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task TheIdempotencyKeyIsDescribedAsTheKeysTheApiTakesQuotedOrBare()
    {
        // The draft's own form is a quoted string: a 255-character key sent quoted is 257 characters, which the API
        // takes and a maxLength of 255 made a generated client refuse. The pattern must say no more and no less.
        var creator = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
        string Key(int length) => (Guid.NewGuid().ToString("N") + new string('k', 300))[..length];
        var samples = new[]
        {
            Key(255), Key(256), $"\"{Key(255)}\"", $"\"{Key(256)}\"", $"\"a \\\"quoted\\\" key {Key(8)}\"", $"a,{Key(8)}", $"\"{Key(8)}", $"{Key(8)};x",
        };

        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var schema = document.RootElement.GetProperty("paths").GetProperty("/organizations").GetProperty("post").GetProperty("parameters")
            .EnumerateArray().Single(p => p.GetProperty("name").GetString() == "Idempotency-Key").GetProperty("schema");
        Assert.False(schema.TryGetProperty("maxLength", out var maxLength), $"maxLength {maxLength}");
        var pattern = new System.Text.RegularExpressions.Regex(schema.GetProperty("pattern").GetString()!, System.Text.RegularExpressions.RegexOptions.ECMAScript);

        foreach (var key in samples)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/organizations")
            {
                Content = new StringContent("""{"displayName":"Initech"}""", System.Text.Encoding.UTF8, "application/json"),
            };
            Assert.True(request.Headers.TryAddWithoutValidation("Idempotency-Key", key));
            var response = await creator.SendAsync(request);

            var taken = response.StatusCode == HttpStatusCode.Created;
            Assert.True(taken || response.StatusCode == HttpStatusCode.BadRequest, $"{key}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.True(taken == pattern.IsMatch(key), $"{key} ({key.Length} characters): the API {(taken ? "takes" : "refuses")} it, the pattern does not agree");
        }
    }

    [Fact]
    public async Task ThePathIdsAreDescribedWithTheLimitsTheApiHolds()
    {
        // Any other organization id is 404 without a call to Scalekit; an external id is at most 255 characters.
        using var document = JsonDocument.Parse(await _api.Client().GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        var ids = paths.EnumerateObject().Where(path => path.Name.Contains("{id}", StringComparison.Ordinal))
            .SelectMany(path => path.Value.EnumerateObject())
            .Select(operation => operation.Value.GetProperty("parameters").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "id").GetProperty("schema"))
            .ToList();
        Assert.Equal(5, ids.Count);

        foreach (var id in ids)
        {
            var pattern = new System.Text.RegularExpressions.Regex(id.GetProperty("pattern").GetString()!, System.Text.RegularExpressions.RegexOptions.ECMAScript);
            foreach (var sample in new[] { Tokens.OrgA, "org_" + new string('a', 28), "org_" + new string('a', 29), "org_", "current", "ORG_1", "org_a.b", "org_a-b_C9" })
            {
                Assert.True(OrganizationId.IsWellFormed(sample) == pattern.IsMatch(sample), $"{sample}: the API {(OrganizationId.IsWellFormed(sample) ? "takes" : "refuses")} it");
            }
        }

        var externalId = paths.GetProperty("/organizations/external/{externalId}").GetProperty("get").GetProperty("parameters")[0].GetProperty("schema");
        Assert.Equal(1, externalId.GetProperty("minLength").GetInt32());
        Assert.Equal(ExternalIds.MaxLength, externalId.GetProperty("maxLength").GetInt32());
    }

    [Fact]
    public async Task TheInteractiveUiIsNotServedOutsideDevelopment()
    {
        var response = await _api.Client().GetAsync("/scalar/");
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }
}

/// <summary>A Scalekit client whose every call fails as no failure this API expects: what a defect behind an endpoint looks like.</summary>
public class FailingScalekit : System.Reflection.DispatchProxy
{
    public static Api.Scalekit.IScalekitApi Create() => Create<Api.Scalekit.IScalekitApi, FailingScalekit>();

    protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) =>
        throw new InvalidOperationException("A defect, stood in for by this test.");
}
