using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Api.Tests.Organizations;

public sealed class CreateOrganizationTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _client;

    public CreateOrganizationTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));
    }

    [Fact]
    public async Task CreateReturns201WithLocationAndTheOrganization()
    {
        var response = await _client.PostAsJsonAsync("/organizations", new
        {
            displayName = "Initech",
            externalId = "crm-42",
            metadata = new Dictionary<string, string> { ["plan"] = "enterprise" },
            slug = "initech",
            regionCode = "EU",
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var id = body.RootElement.GetProperty("id").GetString();
        Assert.StartsWith("org_", id);
        Assert.Equal($"/organizations/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("Initech", body.RootElement.GetProperty("displayName").GetString());
        Assert.Equal("crm-42", body.RootElement.GetProperty("externalId").GetString());
        Assert.Equal("enterprise", body.RootElement.GetProperty("metadata").GetProperty("plan").GetString());
        Assert.Equal("EU", body.RootElement.GetProperty("regionCode").GetString());
        Assert.Equal(JsonValueKind.Array, body.RootElement.GetProperty("settings").GetProperty("features").ValueKind);
    }

    [Fact]
    public async Task ScalekitReceivesAFlatSnakeCaseBodyWithTheManagementToken()
    {
        await _client.PostAsJsonAsync("/organizations", new
        {
            displayName = "Initech",
            externalId = "crm-42",
            logoUrl = "https://cdn.example.com/logo.png",
            id = "org_forged",
            createTime = "2020-01-01T00:00:00Z",
        });

        var call = Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations"));
        Assert.Equal($"Bearer {_api.Fake.CurrentManagementToken}", call.RequestMessage.Headers!["Authorization"].Single());
        using var sent = JsonDocument.Parse(call.RequestMessage.Body!);
        var names = sent.RootElement.EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.Equal(["display_name", "external_id", "logo_url"], names);
        Assert.Equal("Initech", sent.RootElement.GetProperty("display_name").GetString());
    }

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { """{}""", "displayName" },
        { """{"displayName":""}""", "displayName" },
        { """{"displayName":"   "}""", "displayName" },
        { $$"""{"displayName":"{{new string('x', 201)}}"}""", "displayName" },
        { $$"""{"displayName":"{{string.Concat(Enumerable.Repeat("\U0001F600", 201))}}"}""", "displayName" },
        { """{"displayName":"A","slug":"Not_A_Slug"}""", "slug" },
        { """{"displayName":"A","slug":"-edge"}""", "slug" },
        { """{"displayName":"A","logoUrl":"http://insecure.example.com/x.png"}""", "logoUrl" },
        { $$"""{"displayName":"A","logoUrl":"https://x.com/{{new string('a', 1020)}}"}""", "logoUrl" },
        { """{"displayName":"A","regionCode":"APAC"}""", "regionCode" },
        { """{"displayName":"A","metadata":{"ab":"short key"}}""", "metadata" },
        { """{"displayName":"A","metadata":{"key":""}}""", "metadata" },
        { $$"""{"displayName":"A","metadata":{{JsonSerializer.Serialize(Enumerable.Range(0, 11).ToDictionary(i => $"key{i}", i => "v"))}}}""", "metadata" },
        { """{"displayName":"A","externalId":""}""", "externalId" },
        { """{"displayName":"Acme\u0000Corp"}""", "displayName" },
        { """{"displayName":"Acme\nSet-Cookie: x"}""", "displayName" },
    };

    [Fact]
    public async Task MetadataLengthsAreCountedInCharacters()
    {
        var key = string.Concat(Enumerable.Repeat("\U0001F511", 25));
        var value = string.Concat(Enumerable.Repeat("\U0001F600", 256));

        var response = await _client.PostAsJsonAsync("/organizations", new { displayName = "Emoji", metadata = new Dictionary<string, string> { [key] = value } });

        Assert.True(HttpStatusCode.Created == response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ExternalIdLengthIsCountedInCharacters()
    {
        // 255 emoji are 510 UTF-16 units but 255 characters, as displayName and metadata are counted.
        var externalId = string.Concat(Enumerable.Repeat("\U0001F511", 255));

        var accepted = await _client.PostAsJsonAsync("/organizations", new { displayName = "Emoji", externalId });
        var refused = await _client.PostAsJsonAsync("/organizations", new { displayName = "Emoji", externalId = externalId + "x" });

        Assert.True(HttpStatusCode.Created == accepted.StatusCode, await accepted.Content.ReadAsStringAsync());
        using var sent = JsonDocument.Parse(Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations")).RequestMessage.Body!);
        Assert.Equal(externalId, sent.RootElement.GetProperty("external_id").GetString());
        var problem = await ProblemAssert.IsProblem(refused, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("externalId", out _), problem.ToString());
    }

    [Theory]
    [InlineData(200, "x", "")]
    [InlineData(150, "\U0001F600", "")]
    [InlineData(199, "x", "     ")]
    public async Task DisplayNameLengthIsCountedInCharactersOfTheTrimmedName(int count, string character, string padding)
    {
        var name = padding + string.Concat(Enumerable.Repeat(character, count)) + padding;

        var response = await _client.PostAsJsonAsync("/organizations", new { displayName = name });

        Assert.True(HttpStatusCode.Created == response.StatusCode, await response.Content.ReadAsStringAsync());
        using var sent = JsonDocument.Parse(Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations")).RequestMessage.Body!);
        Assert.Equal(name.Trim(), sent.RootElement.GetProperty("display_name").GetString());
    }

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task InvalidInputIs400KeyedByFieldWithNoUpstreamCall(string json, string field)
    {
        var response = await _client.PostAsync("/organizations", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    // Text every admin UI and log shows: nothing that forges lines, drives a terminal, reorders what is read
    // ("Trojan Source" bidi controls) or puts credentials in a URL.
    public static TheoryData<string, string, string> UnsafeText => new()
    {
        { """{"displayName":"A","metadata":{"ab\u0000c":"v"}}""", "metadata", "control characters" },
        { """{"displayName":"A","metadata":{"plan":"v\u001b[31mred\r\nx"}}""", "metadata", "control characters" },
        { """{"displayName":"A","metadata":{"pl\u202Ean":"pro"}}""", "metadata", "bidirectional" },
        { """{"displayName":"A","metadata":{"plan":"gold\u2066x\u2069"}}""", "metadata", "bidirectional" },
        { """{"displayName":"Acme\u202Egnp.exe"}""", "displayName", "bidirectional" },
        { """{"displayName":"\u2067Acme"}""", "displayName", "bidirectional" },
        { """{"displayName":"A","logoUrl":"https://a.example/\u0000"}""", "logoUrl", "control characters" },
        { """{"displayName":"A","logoUrl":"https://a.example/a b"}""", "logoUrl", "whitespace" },
        { """{"displayName":"A","logoUrl":"https://a.example/\tlogo.png"}""", "logoUrl", "whitespace" },
        { """{"displayName":"A","logoUrl":"https://a.example/\u202Egnp.png"}""", "logoUrl", "bidirectional" },
        { """{"displayName":"A","logoUrl":"https://user:pass@a.example/"}""", "logoUrl", "user name or password" },
        { """{"displayName":"A","logoUrl":"https://cdn.example@evil.example/logo.png"}""", "logoUrl", "user name or password" },
    };

    [Theory]
    [MemberData(nameof(UnsafeText))]
    public async Task UnsafeTextIs400WithAMessageNamingTheFieldAndNoUpstreamCall(string json, string field, string reason)
    {
        var response = await _client.PostAsync("/organizations", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        var messages = problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Contains(messages, message => message.StartsWith($"{field} ", StringComparison.Ordinal) && message.Contains(reason, StringComparison.Ordinal));
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Fact]
    public async Task EmojiJoinersAndRightToLeftTextAreAccepted()
    {
        const string family = "Family \U0001F468\u200D\U0001F469\u200D\U0001F467";
        const string hebrew = "\u05E9\u05DC\u05D5\u05DD";

        var response = await _client.PostAsync("/organizations", new StringContent(
            $$"""{"displayName":"{{family}}","metadata":{"team":"{{hebrew}} \u200D","{{hebrew}}":"v"},"logoUrl":"https://a.example/l\u00F6go.png"}""",
            Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var sent = JsonDocument.Parse(Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations")).RequestMessage.Body!);
        Assert.Equal(family, sent.RootElement.GetProperty("display_name").GetString());
        Assert.Equal($"{hebrew} \u200D", sent.RootElement.GetProperty("metadata").GetProperty("team").GetString());
    }

    // Names with nothing to see: string.Trim leaves format characters (Cf) such as the zero-width space in place.
    [Theory]
    [InlineData("\u200B")]
    [InlineData("\u2060")]
    [InlineData("\uFEFF")]
    [InlineData(" \u200B\u00A0\uFEFF\u3000\u2060 ")]
    [InlineData("\u200D\u200C")]
    [InlineData("\u00AD")]
    [InlineData("\u3164")]
    [InlineData("\uFE0F\U000E0100")]
    [InlineData("\u2065")]                  // default-ignorable code points Unicode has not assigned yet
    [InlineData("\uFFF0\U000E0080")]
    public async Task ADisplayNameOfOnlyInvisibleCharactersIsRefusedLikeAWhitespaceOne(string name)
    {
        var whitespace = await _client.PostAsJsonAsync("/organizations", new { displayName = "   " });
        var invisible = await _client.PostAsJsonAsync("/organizations", new { displayName = name });

        var expected = await ProblemAssert.IsProblem(whitespace, HttpStatusCode.BadRequest);
        var problem = await ProblemAssert.IsProblem(invisible, HttpStatusCode.BadRequest);
        Assert.Equal(expected.GetProperty("errors").ToString(), problem.GetProperty("errors").ToString());
        Assert.Equal(expected.GetProperty("detail").GetString(), problem.GetProperty("detail").GetString());
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Theory]
    [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467")]          // an emoji ZWJ sequence and nothing else
    [InlineData("\u2764\uFE0F")]                                           // an emoji with its variation selector
    [InlineData("\u0915\u094D\u200D\u0937")]                              // Devanagari with a ZWJ
    [InlineData("\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645")]     // Persian with a ZWNJ
    [InlineData("\u0D28\u0D4D\u200D")]                                     // a Malayalam chillu written with ZWJ
    public async Task ADisplayNameWithVisibleCharactersBesideJoinersIsAccepted(string name)
    {
        var response = await _client.PostAsJsonAsync("/organizations", new { displayName = name });

        Assert.True(HttpStatusCode.Created == response.StatusCode, await response.Content.ReadAsStringAsync());
        using var sent = JsonDocument.Parse(Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations")).RequestMessage.Body!);
        Assert.Equal(name, sent.RootElement.GetProperty("display_name").GetString());
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"displayName": 42}""")]
    [InlineData("[]")]
    [InlineData("")]
    public async Task MalformedJsonIs400(string json)
    {
        var response = await _client.PostAsync("/organizations", new StringContent(json, Encoding.UTF8, "application/json"));
        await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Theory]
    [InlineData("""{"displayName": 42}""", "$.displayName")]
    [InlineData("""{"displayName":"A","metadata":{"plan":7}}""", "$.metadata.plan")]
    public async Task MalformedJsonNamesWhereItWentWrong(string json, string path)
    {
        var response = await _client.PostAsync("/organizations", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.Contains($"(at {path})", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("System.", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"displayName":"Acme","displayName":"Globex"}""", "$.displayName")]
    [InlineData("""{"displayName":"Acme","metadata":{"plan":"free","plan":"enterprise"}}""", "$.metadata")]
    public async Task APropertyNamedTwiceIs400RatherThanOneCopyWinning(string json, string path)
    {
        var response = await _client.PostAsync("/organizations", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.Contains(path, problem.GetProperty("detail").GetString());
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Fact]
    public async Task ANonJsonBodyIs415()
    {
        var response = await _client.PostAsync("/organizations", new StringContent("displayName=A", Encoding.UTF8, "application/x-www-form-urlencoded"));
        await ProblemAssert.IsProblem(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task ACompressedBodyIs415SayingSoWithNoUpstreamCall()
    {
        using var compressed = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes("""{"displayName":"Initech"}"""));
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        var response = await _client.PostAsync("/organizations", content);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("Content-Encoding", problem.GetProperty("detail").GetString());
        Assert.Equal("identity", Assert.Single(response.Headers.GetValues("Accept-Encoding")));
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Fact]
    public async Task AnIdentityContentEncodingIsAPlainBody()
    {
        var content = new StringContent("""{"displayName":"Initech"}""", Encoding.UTF8, "application/json");
        content.Headers.ContentEncoding.Add("identity");

        var response = await _client.PostAsync("/organizations", content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task AnOversizedBodyIs413()
    {
        var json = $$"""{"displayName":"A","pad":"{{new string('x', 70_000)}}"}""";
        var response = await _client.PostAsync("/organizations", new StringContent(json, Encoding.UTF8, "application/json"));
        await ProblemAssert.IsProblem(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    // RFC 9110 §13.1.1: this API issues no entity tags, so an If-Match naming one cannot hold.
    [Fact]
    public async Task AnIfMatchNamingAnEntityTagIs412AndNothingIsCreated()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/organizations")
        {
            Content = new StringContent("""{"displayName":"Initech"}""", System.Text.Encoding.UTF8, "application/json"),
        };

        await ProblemAssert.RefusesIfMatch(_client, request);

        Assert.Empty(_api.Fake.Requests("POST", "/api/v1"));
    }
}
