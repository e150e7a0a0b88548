using System.Net;
using System.Net.Http.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Scalekit;

public sealed class UpstreamErrorMappingTests : IClassFixture<ApiFixture>
{
    private const string Secret = "UPSTREAM-SECRET-DETAIL";
    private readonly ApiFixture _api;

    public UpstreamErrorMappingTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
    }

    private HttpClient Platform() => _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all", "organizations:create"]));

    private void GetAnswers(int status, string body, string? retryAfter = null)
    {
        var response = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
        if (retryAfter is not null)
        {
            response = response.WithHeader("Retry-After", retryAfter);
        }

        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1).RespondWith(response);
    }

    public static TheoryData<int, HttpStatusCode> StatusTable => new()
    {
        { 400, HttpStatusCode.BadRequest },
        { 404, HttpStatusCode.NotFound },
        { 409, HttpStatusCode.Conflict },
        { 403, HttpStatusCode.BadGateway },
        { 500, HttpStatusCode.BadGateway },
        { 501, HttpStatusCode.BadGateway },
        { 503, HttpStatusCode.BadGateway },
        { 504, HttpStatusCode.BadGateway },
        { 302, HttpStatusCode.BadGateway },
    };

    [Theory]
    [MemberData(nameof(StatusTable))]
    public async Task UpstreamStatusesMapToTheDocumentedProblem(int upstream, HttpStatusCode expected)
    {
        GetAnswers(upstream, $$"""{"code":3,"message":"{{Secret}}","details":[]}""");

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, expected);
        Assert.DoesNotContain(Secret, await response.Content.ReadAsStringAsync());
        Assert.Null(response.Headers.Location);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("GET")]
    public async Task AScalekit404ToACreateOrAListIsABadGatewayNotAMissingOrganization(string method)
    {
        // The collection path names no organization: its 404 means the route is not there (an environment URL that is
        // not Scalekit's), and "The organization was not found." sent the caller looking for an organization.
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingMethod(method)).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(404).WithHeader("Content-Type", "text/html").WithBody("<h1>Not Found</h1>"));

        var response = method == "POST"
            ? await Platform().PostAsJsonAsync("/organizations", new { displayName = "Initech" })
            : await Platform().GetAsync("/organizations");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.DoesNotContain("organization was not found", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AnUpstream400KeepsKnownFieldViolationsInCamelCase()
    {
        GetAnswers(400, """
            {"code":3,"message":"UPSTREAM-SECRET-DETAIL","details":[{"@type":"type.googleapis.com/scalekit.v1.errdetails.ErrorInfo","error_code":"INVALID_ARGUMENT",
             "validation_error_info":{"field_violations":[{"field":"display_name","description":"must be shorter"},{"field":"internal_thing","description":"x"}]}}]}
            """);

        var response = await Platform().GetAsync("/organizations/org_1");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.Equal("must be shorter", errors.GetProperty("displayName")[0].GetString());
        Assert.Single(errors.EnumerateObject());
        Assert.DoesNotContain(Secret, problem.ToString());
    }

    [Fact]
    public async Task AnUpstream400ThatEchoesTheManagementTokenDoesNotPassTheTokenOn()
    {
        // A validation answer that quotes the request back, Authorization header included.
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithCallback(request => ScalekitFake.Json(400, new
            {
                code = 3,
                message = "invalid",
                details = new[]
                {
                    new
                    {
                        validation_error_info = new
                        {
                            field_violations = new[]
                            {
                                new { field = "display_name", description = $"rejected request with {request.Headers!["Authorization"].Single()}" },
                                new { field = "slug", description = "must be lowercase" },
                            },
                        },
                    },
                },
            })));

        var response = await Platform().GetAsync("/organizations/org_1");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.Equal("Scalekit rejected this value.", errors.GetProperty("displayName")[0].GetString());
        Assert.Equal("must be lowercase", errors.GetProperty("slug")[0].GetString());
        Assert.DoesNotContain(_api.Fake.CurrentManagementToken, problem.ToString());
    }

    [Fact]
    public async Task An429WithRetryAfterBecomes503WithRetryAfter()
    {
        GetAnswers(429, """{"code":8,"message":"rate limited"}""", retryAfter: "17");

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(17), response.Headers.RetryAfter?.Delta);
        // A long Retry-After is not waited out: one call, no retries.
        Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations/org_1"));
    }

    // A 503 whose Retry-After is too long to wait out was passed on as a bare 502: the caller's client had no hint to
    // back off and retried at once. Hours (or a date far ahead) are passed on as a minute at most.
    [Theory]
    [InlineData(503, "30", 30)]
    [InlineData(503, "7200", 60)]
    [InlineData(503, "Wed, 21 Oct 2099 07:28:00 GMT", 60)]
    [InlineData(429, "7200", 60)]
    public async Task AnUnavailableScalekitsLongRetryAfterBecomes503WithThatHintUpToAMinute(int upstream, string retryAfter, int expected)
    {
        GetAnswers(upstream, """{"code":14,"message":"UPSTREAM-SECRET-DETAIL"}""", retryAfter);

        var response = await Platform().GetAsync("/organizations/org_1");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(expected), response.Headers.RetryAfter?.Delta);
        Assert.DoesNotContain(Secret, problem.ToString());
        Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations/org_1"));
    }

    [Fact]
    public async Task A503WithAShortRetryAfterIsRetriedAndStillUnavailableIs503WithTheHint()
    {
        GetAnswers(503, """{"code":14,"message":"unavailable"}""", retryAfter: "1");

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal(3, _api.Fake.Requests("GET", "/api/v1/organizations/org_1").Count);
    }

    // A Retry-After short enough to wait out, but ending past the total timeout: waiting it out ended in a 504 that
    // dropped Scalekit's hint.
    [Fact]
    public async Task ARetryAfterThatWouldOutlastTheTotalTimeoutIsNotWaitedOut()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization("org_1");
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:00.500",
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:01",
            ["Scalekit:TokenFetchCooldown"] = "00:00:00",
        });
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).Machine(Tokens.OrgA, ["organizations:read_all"]));
        await WarmUp.UntilOkAsync(client, "/organizations/org_1");
        fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503).WithHeader("Retry-After", "2"));
        fake.ResetRequests();

        var response = await client.GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Single(fake.Requests("GET", "/api/v1/organizations/org_1"));
    }

    [Fact]
    public async Task ACreateAnswered503WithRetryAfterIs503WithTheHintAndNotRetried()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503).WithHeader("Retry-After", "20"));

        var response = await Platform().PostAsJsonAsync("/organizations", new { displayName = "Later" });

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(TimeSpan.FromSeconds(20), response.Headers.RetryAfter?.Delta);
        Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Fact]
    public async Task An429WithoutRetryAfterBecomes503WithADefaultRetryAfter()
    {
        GetAnswers(429, """{"code":8,"message":"rate limited"}""");

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task AnUnreadableSuccessBodyIs502()
    {
        GetAnswers(200, """{"organization": {"id": 12, "display_name": """);

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("br")]
    public async Task ACompressedAnswerThatDoesNotDecompressIs502NotA500(string encoding)
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithHeader("Content-Encoding", encoding).WithBody("not compressed at all, just text"));

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        // Not retried: the same bytes would come back.
        Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations/org_1"));
    }

    [Fact]
    public async Task ASuccessBodyWithoutAnOrganizationIs502()
    {
        GetAnswers(200, """{"something_else": {}}""");

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
    }

    // A 2xx with "Content-Length: 0" is deserialized to no object at all (not a JSON error): still Scalekit's mistake.
    [Theory]
    [InlineData("GET", "/api/v1/organizations/org_1", "/organizations/org_1")]
    [InlineData("GET", "/api/v1/organizations", "/organizations")]
    [InlineData("GET", "/api/v1/organizations:external/crm-1", "/organizations/external/crm-1")]
    [InlineData("POST", "/api/v1/organizations", "/organizations")]
    public async Task AnEmptySuccessBodyOfKnownLengthIs502(string method, string upstreamPath, string path)
    {
        _api.Fake.Server.Given(Request.Create().WithPath(upstreamPath).UsingMethod(method)).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(method == "POST" ? 201 : 200).WithHeader("Content-Type", "application/json"));

        var response = await Platform().SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "POST" ? JsonContent.Create(new { displayName = "Empty Answer Ltd" }) : null,
        });

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnAnswerBodyFarLargerThanAnyScalekitSendsIs502AndNotFetchedAgain(bool chunked)
    {
        // The fake needs seconds to send 5 MiB on a busy machine: with the class's 2 s attempt timeout that was a 504
        // and a retried fetch. Each attempt here may take as long as it needs, so the one fetch is the refused answer.
        // No response transformer: it ran Handlebars over the 5 MiB body (a minute under load) and changed nothing on
        // the wire.
        using var api = new UnhurriedApiFixture();
        var huge = "{\"organization\":{\"id\":\"org_1\",\"display_name\":\"" + new string('a', 5 * 1024 * 1024) + "\"}}";
        var response = Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(huge);
        api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .RespondWith(chunked ? response.WithHeader("Transfer-Encoding", "chunked") : response);

        var answer = await api.Client(api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"])).GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(answer, HttpStatusCode.BadGateway);
        Assert.Single(api.Fake.Requests("GET", "/api/v1/organizations/org_1"));
    }

    // Scalekit answering another organization than the one asked for was shown as if it were the one asked for: one
    // tenant's organization handed to a caller authorized only for another.
    [Fact]
    public async Task AnAnswerAboutAnotherOrganizationIs502NotShown()
    {
        GetAnswers(200, """{"organization":{"id":"org_999","display_name":"Someone Else's"}}""");

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.DoesNotContain("org_999", await response.Content.ReadAsStringAsync());
    }

    // A metadata merge reads the map it writes back: another organization's map would have been written over this one's.
    [Fact]
    public async Task AMetadataMergeThatReadsAnotherOrganizationIs502AndWritesNothing()
    {
        GetAnswers(200, """{"organization":{"id":"org_999","display_name":"Someone Else's","metadata":{"secret":"theirs"}}}""");
        var admin = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:write_all"]));

        var response = await admin.PatchAsync("/organizations/org_1",
            new StringContent("""{"metadata":{"plan":"pro"}}""", System.Text.Encoding.UTF8, "application/merge-patch+json"));

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1/organizations"));
    }

    [Fact]
    public async Task AListPageLongerThanThePageSizeAskedForIs502NotPassedOn()
    {
        // Scalekit ignoring page_size: within the body cap such a page held 200 000 organizations and answered 36 MB.
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"organizations":[{"id":"org_1"},{"id":"org_2"},{"id":"org_3"}],"total_size":3}"""));

        var response = await Platform().GetAsync("/organizations?pageSize=2");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Equal(HttpStatusCode.OK, (await Platform().GetAsync("/organizations?pageSize=3")).StatusCode);
    }

    [Fact]
    public async Task ARedirectIsNotFollowed()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(307).WithHeader("Location", $"{_api.Fake.Url}/elsewhere"));

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Empty(_api.Fake.Requests("GET", "/elsewhere"));
        // Every call answering 502 is the management API failing, whatever status it used.
        Assert.Contains("\"Degraded\"", await _api.Client().GetStringAsync("/health/ready"));
    }

    [Theory]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task ARedirectFromTheTokenEndpointIsNotFollowedWithTheClientSecret(int status)
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/oauth/token").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Location", $"{_api.Fake.Url}/elsewhere/token"));
        using var factory = new ApiFactory(_api.Fake);
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", _api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));

        var response = await client.GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable);
        Assert.DoesNotContain(_api.Fake.Server.LogEntries, e => e.RequestMessage.Path.StartsWith("/elsewhere", StringComparison.Ordinal));
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task ATransient503OnGetIsRetriedThenSucceeds()
    {
        _api.Fake.AddOrganization("org_1");
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .InScenario("flaky").WillSetStateTo("recovered")
            .RespondWith(Response.Create().WithStatusCode(503));

        var response = await Platform().GetAsync("/organizations/org_1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, _api.Fake.Requests("GET", "/api/v1/organizations/org_1").Count);
    }

    [Fact]
    public async Task APostIsNeverRetried()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(503));

        var response = await Platform().PostAsJsonAsync("/organizations", new { displayName = "Once" });

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Fact]
    public async Task AnUpstream409OnCreateIs409()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingPost()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(409).WithBody("""{"code":6,"message":"UPSTREAM-SECRET-DETAIL"}"""));

        var response = await Platform().PostAsJsonAsync("/organizations", new { displayName = "Twice", externalId = "dup" });

        await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict);
        Assert.DoesNotContain(Secret, await response.Content.ReadAsStringAsync());
    }

    // WireMock's EMPTY_RESPONSE fault is a 200 without a body; real connection aborts are in Faults/.
    [Fact]
    public async Task AnEmptyUpstreamAnswerIs502()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithFault(WireMock.ResponseBuilders.FaultType.EMPTY_RESPONSE));

        var response = await Platform().GetAsync("/organizations/org_1");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
    }
}
