using System.Net;
using System.Text;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Organizations;

public sealed class UpdateOrganizationTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _admin;

    public UpdateOrganizationTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme", externalId: "crm-a", metadata: new() { ["tier"] = "gold", ["owner"] = "alice" });
        _admin = _api.Client(_api.Tokens.User(Tokens.OrgA, roles: ["admin"]));
    }

    private Task<HttpResponseMessage> Patch(string json, string contentType = "application/json", string id = Tokens.OrgA) =>
        _admin.PatchAsync($"/organizations/{id}", new StringContent(json, Encoding.UTF8, contentType));

    private static async Task<JsonElement> Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private JsonElement SentPatch()
    {
        var call = Assert.Single(_api.Fake.Requests("PATCH", "/api/v1/organizations"));
        Assert.Equal($"/api/v1/organizations/{Tokens.OrgA}", call.RequestMessage.Path);
        Assert.Equal($"Bearer {_api.Fake.CurrentManagementToken}", call.RequestMessage.Headers!["Authorization"].Single());
        return JsonDocument.Parse(call.RequestMessage.Body!).RootElement.Clone();
    }

    private static string[] Names(JsonElement body) => [.. body.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task OnlyTheFieldsPresentAreSentInSnakeCase()
    {
        var updated = await Ok(await Patch("""{"displayName":"  Acme Corp ","slug":"acme-corp"}"""));

        var sent = SentPatch();
        Assert.Equal(["display_name", "slug"], Names(sent));
        Assert.Equal("Acme Corp", sent.GetProperty("display_name").GetString());
        Assert.Equal("Acme Corp", updated.GetProperty("displayName").GetString());
        Assert.Equal("acme-corp", updated.GetProperty("slug").GetString());
        Assert.Equal("crm-a", updated.GetProperty("externalId").GetString());
        Assert.Equal("gold", updated.GetProperty("metadata").GetProperty("tier").GetString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task NullClearsAnOptionalStringByItsEmptyValue()
    {
        var updated = await Ok(await Patch("""{"externalId":null,"logoUrl":null,"slug":null}"""));

        var sent = SentPatch();
        Assert.Equal(["external_id", "logo_url", "slug"], Names(sent));
        Assert.All(sent.EnumerateObject(), field => Assert.Equal("", field.Value.GetString()));
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("externalId").ValueKind);
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("slug").ValueKind);
        Assert.Equal("Acme", updated.GetProperty("displayName").GetString());
    }

    [Fact]
    public async Task MetadataIsMergedKeyByKeyFromTheCurrentOrganization()
    {
        var updated = await Ok(await Patch("""{"metadata":{"plan":"pro","tier":null,"unknown":null}}"""));

        var read = Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations"));
        Assert.Equal($"/api/v1/organizations/{Tokens.OrgA}", read.RequestMessage.Path);
        var sent = SentPatch();
        Assert.Equal(["metadata"], Names(sent));
        Assert.Equal(
            new Dictionary<string, string> { ["owner"] = "alice", ["plan"] = "pro" },
            sent.GetProperty("metadata").Deserialize<Dictionary<string, string>>());
        Assert.Equal(
            new Dictionary<string, string> { ["owner"] = "alice", ["plan"] = "pro" },
            updated.GetProperty("metadata").Deserialize<Dictionary<string, string>>());
    }

    [Fact]
    public async Task AMetadataKeyScalekitAnswersWithANullValueIsNeitherShownNorWrittenBack()
    {
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme", metadata: new() { ["tier"] = "gold", ["ghost"] = null! });

        var updated = await Ok(await Patch("""{"metadata":{"plan":"pro"}}"""));

        Assert.Equal(
            new Dictionary<string, string> { ["tier"] = "gold", ["plan"] = "pro" },
            SentPatch().GetProperty("metadata").Deserialize<Dictionary<string, string>>());
        Assert.Equal(
            new Dictionary<string, string> { ["tier"] = "gold", ["plan"] = "pro" },
            updated.GetProperty("metadata").Deserialize<Dictionary<string, string>>());
    }

    [Fact]
    public async Task NullMetadataRemovesEveryKeyWithoutReadingFirst()
    {
        var updated = await Ok(await Patch("""{"metadata":null}"""));

        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
        Assert.Equal(JsonValueKind.Object, SentPatch().GetProperty("metadata").ValueKind);
        Assert.Empty(SentPatch().GetProperty("metadata").EnumerateObject());
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("metadata").ValueKind);
    }

    [Fact]
    public async Task AMergeThatWouldExceedTenPairsIs400AndNothingIsChanged()
    {
        var nine = JsonSerializer.Serialize(Enumerable.Range(0, 9).ToDictionary(i => $"key{i}", _ => "v"));

        var response = await Patch($$"""{"metadata":{{nine}}}""");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("metadata", out _), problem.ToString());
        Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations"));
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Fact]
    public async Task AMergePatchContentTypeIsAccepted()
    {
        await Ok(await Patch("""{"displayName":"Merged"}""", "application/merge-patch+json"));
        Assert.Equal("Merged", SentPatch().GetProperty("display_name").GetString());
    }

    [Fact]
    public async Task UnknownAndServerOwnedFieldsAreNotForwarded()
    {
        await Ok(await Patch("""{"displayName":"X","id":"org_forged","createTime":"2020-01-01T00:00:00Z","settings":{"features":[]},"shadow":1}"""));
        Assert.Equal(["display_name"], Names(SentPatch()));
    }

    public static TheoryData<string, string> InvalidPatches => new()
    {
        { """{}""", "body" },
        { """{"unknown":"only"}""", "body" },
        { """{"regionCode":"EU"}""", "regionCode" },
        { """{"regionCode":null}""", "regionCode" },
        { """{"displayName":null}""", "displayName" },
        { """{"displayName":"  "}""", "displayName" },
        { """{"displayName":"Acme\u001b[2J"}""", "displayName" },
        { $$"""{"displayName":"{{new string('x', 201)}}"}""", "displayName" },
        { """{"externalId":""}""", "externalId" },
        { """{"slug":"Not_A_Slug"}""", "slug" },
        { """{"slug":"acme\n"}""", "slug" },
        { """{"logoUrl":"http://insecure.example.com/x.png"}""", "logoUrl" },
        { """{"metadata":{"ab":"short key"}}""", "metadata" },
        { """{"metadata":{"key":""}}""", "metadata" },
        { $$"""{"metadata":{{JsonSerializer.Serialize(Enumerable.Range(0, 11).ToDictionary(i => $"key{i}", _ => "v"))}}}""", "metadata" },
    };

    [Theory]
    [MemberData(nameof(InvalidPatches))]
    public async Task AnInvalidPatchIs400KeyedByFieldWithNoUpstreamCall(string json, string field)
    {
        var response = await Patch(json);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    public static TheoryData<string, string, string> UnsafePatches => new()
    {
        { """{"metadata":{"ab\u0000c":"v"}}""", "metadata", "control characters" },
        { """{"metadata":{"tier":"v\u001b[31mred\r\nx"}}""", "metadata", "control characters" },
        { """{"metadata":{"ti\u202Eer":"gold"}}""", "metadata", "bidirectional" },
        { """{"metadata":{"tier":"gold\u2068x"}}""", "metadata", "bidirectional" },
        { """{"displayName":"Acme\u202Dx"}""", "displayName", "bidirectional" },
        { """{"logoUrl":"https://a.example/\u0000"}""", "logoUrl", "control characters" },
        { """{"logoUrl":"https://a.example/a b"}""", "logoUrl", "whitespace" },
        { """{"logoUrl":"https://user:pass@a.example/"}""", "logoUrl", "user name or password" },
    };

    [Theory]
    [MemberData(nameof(UnsafePatches))]
    public async Task UnsafeTextIs400WithAMessageNamingTheFieldAndNoUpstreamCall(string json, string field, string reason)
    {
        var response = await Patch(json);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        var messages = problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Contains(messages, message => message.StartsWith($"{field} ", StringComparison.Ordinal) && message.Contains(reason, StringComparison.Ordinal));
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Theory]
    [InlineData("\u200B")]
    [InlineData("\u2060")]
    [InlineData("\uFEFF")]
    [InlineData(" \u200B\u00A0\uFEFF\u3000\u2060 ")]
    [InlineData("\u3164")]
    [InlineData("\u2065\U000E0080")]
    public async Task ADisplayNameOfOnlyInvisibleCharactersIsRefusedLikeAWhitespaceOne(string name)
    {
        var whitespace = await Patch("""{"displayName":"   "}""");
        var invisible = await Patch(JsonSerializer.Serialize(new { displayName = name }));

        var expected = await ProblemAssert.IsProblem(whitespace, HttpStatusCode.BadRequest);
        var problem = await ProblemAssert.IsProblem(invisible, HttpStatusCode.BadRequest);
        Assert.Equal(expected.GetProperty("errors").ToString(), problem.GetProperty("errors").ToString());
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Theory]
    [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467")]
    [InlineData("\u0915\u094D\u200D\u0937")]
    public async Task ADisplayNameWithVisibleCharactersBesideJoinersIsAccepted(string name)
    {
        await Ok(await Patch(JsonSerializer.Serialize(new { displayName = name })));

        Assert.Equal(name, SentPatch().GetProperty("display_name").GetString());
    }

    [Fact]
    public async Task AMetadataKeyStoredBeforeTheTextRulesCanStillBeRemoved()
    {
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme", metadata: new() { ["tier"] = "gold", ["bad\u001bkey"] = "x" });

        await Ok(await Patch("""{"metadata":{"bad\u001bkey":null}}"""));

        Assert.Equal(
            new Dictionary<string, string> { ["tier"] = "gold" },
            SentPatch().GetProperty("metadata").Deserialize<Dictionary<string, string>>());
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"metadata":{"tier":5}}""")]
    [InlineData("""{"displayName":42}""")]
    [InlineData("null")]
    [InlineData("")]
    // Named twice: the merge would both set and remove "tier", depending on which copy a parser keeps.
    [InlineData("""{"metadata":{"tier":"silver","tier":null}}""")]
    [InlineData("""{"displayName":"A","displayName":"B"}""")]
    public async Task MalformedJsonIs400WithNoUpstreamCall(string json)
    {
        var response = await Patch(json);

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Fact]
    public async Task ANonJsonBodyIs415()
    {
        var response = await Patch("displayName=A", "application/x-www-form-urlencoded");
        await ProblemAssert.IsProblem(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Fact]
    public async Task AnIdThatCannotBeAScalekitIdIs404WithoutAnUpstreamCall()
    {
        var writer = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:write_all"]));

        var response = await writer.PatchAsync("/organizations/org.100", new StringContent("""{"displayName":"X"}""", Encoding.UTF8, "application/json"));

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Fact]
    public async Task AMissingOrganizationIs404()
    {
        var writer = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:write_all"]));

        var response = await writer.PatchAsync("/organizations/org_999", new StringContent("""{"displayName":"X"}""", Encoding.UTF8, "application/json"));

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        Assert.Single(_api.Fake.Requests("PATCH", "/api/v1/organizations/org_999"));
    }

    [Fact]
    public async Task AnExternalIdScalekitReportsTakenIs409()
    {
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgA}").UsingPatch()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(409).WithBody("""{"code":6,"message":"UPSTREAM-SECRET"}"""));

        var response = await Patch("""{"externalId":"crm-b"}""");

        await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict);
        Assert.DoesNotContain("UPSTREAM-SECRET", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task APatchIsNeverRetried()
    {
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgA}").UsingPatch()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503));

        var response = await Patch("""{"displayName":"Once"}""");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Single(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    // RFC 9110 §13.1.1: an If-Match naming entity tags holds only when one is the organization's, and this API issues
    // none, so the condition cannot hold. A client sending it relies on it to not overwrite a newer change; the patch
    // was applied all the same.
    [Theory]
    [InlineData("\"v1\"")]
    [InlineData("W/\"v1\"")]
    [InlineData("\"v1\", *")]
    public async Task AnIfMatchNamingEntityTagsIs412AndNothingIsChanged(string ifMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, $"/organizations/{Tokens.OrgA}")
        {
            Content = new StringContent("""{"displayName":"Acme Corp","metadata":{"tier":"silver"}}""", Encoding.UTF8, "application/merge-patch+json"),
        };

        await ProblemAssert.RefusesIfMatch(_admin, request, ifMatch);

        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
        Assert.Equal("Acme", _api.Fake.Stored(Tokens.OrgA)!["display_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task IfMatchAnyPatchesTheOrganization()
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, $"/organizations/{Tokens.OrgA}")
        {
            Content = new StringContent("""{"displayName":"Acme Corp"}""", Encoding.UTF8, "application/merge-patch+json"),
        };
        request.Headers.TryAddWithoutValidation("If-Match", "*");

        var updated = await Ok(await _admin.SendAsync(request));

        Assert.Equal("Acme Corp", updated.GetProperty("displayName").GetString());
        Assert.Single(_api.Fake.Requests("PATCH", "/api/v1"));
    }
}
