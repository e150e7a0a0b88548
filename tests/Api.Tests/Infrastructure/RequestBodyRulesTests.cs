using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Infrastructure;

/// <summary>What a body must be (type, charset) before anything reads it; size and coding are in the create tests.</summary>
public sealed class RequestBodyRulesTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _client;

    public RequestBodyRulesTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme");
        _client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create", "organizations:write_all"]));
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json;charset=UTF-8")]
    public async Task UTF8InAnySpellingIsAccepted(string contentType)
    {
        var response = await _client.PostAsync("/organizations", Body("""{"displayName":"Initech"}""", contentType));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("application/json; charset=bogus")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=\"iso-8859-1\"")]
    [InlineData("application/json; charset=utf-8; charset=latin1")]
    [InlineData("application/json; charset=utf-8; CHARSET=utf-8")]
    public async Task AnotherCharsetIs415WithNoUpstreamCall(string contentType)
    {
        var response = await _client.PostAsync("/organizations", Body("""{"displayName":"Initech"}""", contentType));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("charset_unsupported", problem.GetProperty("reason").GetString());
        Assert.Contains("UTF-8", problem.GetProperty("detail").GetString());
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/problem+json")]
    [InlineData("application/merge-patch+json")]
    public async Task ACreateTakesOnlyApplicationJson(string contentType)
    {
        var response = await _client.PostAsync("/organizations", Body("""{"displayName":"Initech"}""", contentType));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Fact]
    public async Task AJsonPatchDocumentIs415NamingTheMergePatchTypesInAcceptPatch()
    {
        var response = await _client.PatchAsync($"/organizations/{Tokens.OrgA}",
            Body("""[{"op":"replace","path":"/displayName","value":"JP"}]""", "application/json-patch+json"));

        await ProblemAssert.IsProblem(response, HttpStatusCode.UnsupportedMediaType);
        var acceptPatch = Assert.Single(response.Headers.GetValues("Accept-Patch"));
        Assert.Contains("application/merge-patch+json", acceptPatch);
        Assert.Contains("application/json", acceptPatch);
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1/organizations"));
    }

    // Routing refused a type that is not JSON at all before the body rules saw it, with no reason and no Accept-Patch.
    [Theory]
    [InlineData("POST", "/organizations")]
    [InlineData("PATCH", $"/organizations/{Tokens.OrgA}")]
    [InlineData("PATCH", $"/organizations/{Tokens.OrgA}/settings")]
    public async Task ATypeThatIsNotJsonAtAllIsRefusedExactlyLikeAJsonTypeTheEndpointDoesNotTake(string method, string path)
    {
        var notJson = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Body("""{"displayName":"JP"}""", "text/plain") });
        var otherJson = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Body("""{"displayName":"JP"}""", "application/problem+json") });

        var notJsonProblem = await ProblemAssert.IsProblem(notJson, HttpStatusCode.UnsupportedMediaType);
        var otherJsonProblem = await ProblemAssert.IsProblem(otherJson, HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("media_type_unsupported", notJsonProblem.GetProperty("reason").GetString());
        Assert.Equal(otherJsonProblem.GetProperty("detail").GetString(), notJsonProblem.GetProperty("detail").GetString());
        Assert.Equal(AcceptPatch(otherJson), AcceptPatch(notJson));
        Assert.Equal(method == "PATCH", AcceptPatch(notJson) is not null);
        Assert.Empty(_api.Fake.Requests(method, "/api/v1/organizations"));
    }

    [Theory]
    [InlineData("POST", "/organizations")]
    [InlineData("PATCH", $"/organizations/{Tokens.OrgA}")]
    [InlineData("PATCH", $"/organizations/{Tokens.OrgA}/settings")]
    [InlineData("POST", $"/organizations/{Tokens.OrgA}/portal-links")]
    public async Task ABodyWithoutAContentTypeIsRefusedLikeABodyOfAnotherType(string method, string path)
    {
        var untyped = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"displayName":"JP"}""")),
        });
        var otherJson = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Body("""{"displayName":"JP"}""", "application/problem+json") });

        var untypedProblem = await ProblemAssert.IsProblem(untyped, HttpStatusCode.UnsupportedMediaType);
        var otherJsonProblem = await ProblemAssert.IsProblem(otherJson, HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("media_type_unsupported", untypedProblem.GetProperty("reason").GetString());
        Assert.Equal(otherJsonProblem.GetProperty("detail").GetString(), untypedProblem.GetProperty("detail").GetString());
        Assert.Equal(AcceptPatch(otherJson), AcceptPatch(untyped));
        Assert.Empty(_api.Fake.Requests(method, "/api/v1/organizations"));
    }

    [Fact]
    public async Task APortalLinkWithNeitherABodyNorAContentTypeIsStillTaken()
    {
        var response = await _client.PostAsync($"/organizations/{Tokens.OrgA}/portal-links", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string? AcceptPatch(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Accept-Patch", out var values) ? string.Join(", ", values) : null;

    [Fact]
    public async Task AMergePatchWithAQuotedCharsetIsApplied()
    {
        var response = await _client.PatchAsync($"/organizations/{Tokens.OrgA}",
            Body("""{"displayName":"Acme Corp"}""", "application/merge-patch+json; charset=\"utf-8\""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"displayName\":\"Acme Corp\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ATransferCodingOtherThanChunkedIs501WithNoUpstreamCall()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/organizations") { Content = Body("""{"displayName":"Initech"}""", "application/json") };
        request.Headers.TryAddWithoutValidation("Transfer-Encoding", "gzip, chunked");

        var response = await _client.SendAsync(request);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.NotImplemented);
        Assert.Equal("transfer_coding_unsupported", problem.GetProperty("reason").GetString());
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
        // The client's choice, not a failure of this service: a warning, not an error.
        var logged = Assert.Single(_api.Factory.Logs.Events, e => e.Properties.TryGetValue("StatusCode", out var status) && status.ToString() == "501");
        Assert.Equal(Serilog.Events.LogEventLevel.Warning, logged.Level);
    }

    [Theory]
    [InlineData(50_000, 10, HttpStatusCode.Created)]
    [InlineData(65_000, 100, HttpStatusCode.Created)]
    [InlineData(70_000, 65_536, HttpStatusCode.RequestEntityTooLarge)]
    [InlineData(70_000, 10, HttpStatusCode.RequestEntityTooLarge)]
    public async Task AChunkedBodyIsMeasuredWithoutItsFraming(int size, int chunkSize, HttpStatusCode expected)
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake);
        // Over a real socket: the chunked framing exists only on the wire, where Kestrel counted it against the limit.
        using var client = new HttpClient { BaseAddress = factory.StartOnLoopback() };
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:create"]));
        var json = $$"""{"displayName":"Initech","pad":"{{new string('x', size - 34)}}"}""";

        var response = await client.PostAsync("/organizations", new SmallChunksContent(Encoding.UTF8.GetBytes(json), chunkSize));

        if (expected == HttpStatusCode.Created)
        {
            Assert.Equal(expected, response.StatusCode);
        }
        else
        {
            await ProblemAssert.IsProblem(response, expected);
            Assert.Empty(fake.Requests("POST", "/api/v1/organizations"));
        }
    }

    [Theory]
    [InlineData("GET", 70_000, HttpStatusCode.RequestEntityTooLarge)]
    [InlineData("DELETE", 70_000, HttpStatusCode.RequestEntityTooLarge)]
    [InlineData("GET", 1_000, HttpStatusCode.OK)]
    public async Task AChunkedBodyNoEndpointReadsIsRefusedOverTheLimitLikeOneWithALength(string method, int size, HttpStatusCode expected)
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA, "Acme");
        using var factory = new ApiFactory(fake);
        // Over a real socket, where the body is chunked. Unread, it was answered as if absent (200, or the delete
        // done), while the same body with a Content-Length is 413.
        using var client = new HttpClient { BaseAddress = factory.StartOnLoopback() };
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read", "organizations:write_all"]));
        var request = new HttpRequestMessage(new HttpMethod(method), $"/organizations/{Tokens.OrgA}")
        {
            Content = new SmallChunksContent(Encoding.UTF8.GetBytes(new string('x', size)), 1000),
        };

        var response = await client.SendAsync(request);

        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(expected, response.StatusCode);
        }
        else
        {
            await ProblemAssert.IsProblem(response, expected);
            Assert.Empty(fake.Requests(method, "/api/v1/organizations"));
        }
    }

    [Fact]
    public async Task AMalformedChunkedBodyIsAProblemThatSaysTheRequestCouldNotBeRead()
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake);
        // Over a real socket: HttpClient never frames a chunk wrongly, and only Kestrel parses the framing.
        var address = factory.StartOnLoopback();
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:create"]);

        var answer = await Loopback.SendRawAsync(address,
            $"POST /organizations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400 ", answer, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/problem+json", answer, StringComparison.Ordinal);
        var json = answer[answer.IndexOf('{')..(answer.LastIndexOf('}') + 1)];
        var problem = JsonDocument.Parse(json).RootElement;
        Assert.Equal("The request could not be read.", problem.GetProperty("detail").GetString());
        Assert.Empty(fake.Requests("POST", "/api/v1/organizations"));
    }

    /// <summary>A JSON body sent chunked (no Content-Length), one chunk per <c>chunkSize</c> bytes.</summary>
    private sealed class SmallChunksContent : HttpContent
    {
        private readonly byte[] _body;
        private readonly int _chunkSize;

        public SmallChunksContent(byte[] body, int chunkSize)
        {
            (_body, _chunkSize) = (body, chunkSize);
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            for (var offset = 0; offset < _body.Length; offset += _chunkSize)
            {
                await stream.WriteAsync(_body.AsMemory(offset, Math.Min(_chunkSize, _body.Length - offset)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private static ByteArrayContent Body(string json, string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }
}
