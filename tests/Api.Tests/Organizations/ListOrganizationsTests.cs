using Api.Organizations;
using System.Net;
using System.Text.Json;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Organizations;

public sealed class ListOrganizationsTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _platform;

    public ListOrganizationsTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization("org_1", "One", externalId: "crm-1");
        _api.Fake.AddOrganization("org_2", "Two", externalId: "crm-2");
        _api.Fake.AddOrganization("org_3", "Three", externalId: "crm-3");
        _platform = _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"]));
    }

    private static async Task<JsonElement> Body(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private IReadOnlyDictionary<string, string> LastQuery() =>
        _api.Fake.Requests("GET", "/api/v1/organizations")[^1].RequestMessage.Query!
            .ToDictionary(pair => pair.Key, pair => string.Join(",", pair.Value));

    [Fact]
    public async Task ListReturnsAPageOfOrganizationsInCamelCaseWithTheTotal()
    {
        var page = await Body(await _platform.GetAsync("/organizations?pageSize=2"));

        Assert.Equal(["org_1", "org_2"], page.GetProperty("organizations").EnumerateArray().Select(o => o.GetProperty("id").GetString()));
        Assert.Equal("One", page.GetProperty("organizations")[0].GetProperty("displayName").GetString());
        Assert.Equal("crm-1", page.GetProperty("organizations")[0].GetProperty("externalId").GetString());
        Assert.Equal(JsonValueKind.String, page.GetProperty("nextPageToken").ValueKind);
        Assert.Equal(JsonValueKind.Null, page.GetProperty("prevPageToken").ValueKind);
        Assert.Equal(3, page.GetProperty("totalSize").GetInt32());

        var call = Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations"));
        Assert.Equal("/api/v1/organizations", call.RequestMessage.Path);
        Assert.Equal(new Dictionary<string, string> { ["page_size"] = "2" }, LastQuery());
    }

    [Fact]
    public async Task PageTokensArePassedThroughUntouchedInBothDirections()
    {
        var first = await Body(await _platform.GetAsync("/organizations?pageSize=2"));
        var next = first.GetProperty("nextPageToken").GetString()!;

        var second = await Body(await _platform.GetAsync($"/organizations?pageSize=2&pageToken={Uri.EscapeDataString(next)}"));

        Assert.Equal(next, LastQuery()["page_token"]);
        Assert.Equal(["org_3"], second.GetProperty("organizations").EnumerateArray().Select(o => o.GetProperty("id").GetString()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextPageToken").ValueKind);
        var previous = second.GetProperty("prevPageToken").GetString()!;

        var back = await Body(await _platform.GetAsync($"/organizations?pageSize=2&pageToken={Uri.EscapeDataString(previous)}"));

        Assert.Equal(previous, LastQuery()["page_token"]);
        Assert.Equal(["org_1", "org_2"], back.GetProperty("organizations").EnumerateArray().Select(o => o.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task WithoutAPageSizeTheDefaultOfTenIsAskedFor()
    {
        await Body(await _platform.GetAsync("/organizations"));
        Assert.Equal(new Dictionary<string, string> { ["page_size"] = "10" }, LastQuery());
    }

    [Fact]
    public async Task TheExternalIdFilterIsSentAsExternalId()
    {
        var page = await Body(await _platform.GetAsync("/organizations?externalId=crm-2"));

        Assert.Equal("crm-2", LastQuery()["external_id"]);
        Assert.Equal("org_2", Assert.Single(page.GetProperty("organizations").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal(1, page.GetProperty("totalSize").GetInt32());
    }

    [Fact]
    public async Task AnEmptyPageTokenOrExternalIdCountsAsAbsent()
    {
        await Body(await _platform.GetAsync("/organizations?pageToken=&externalId="));
        Assert.Equal(new Dictionary<string, string> { ["page_size"] = "10" }, LastQuery());
    }

    [Fact]
    public async Task AnEmptyUpstreamPageIsAnEmptyListWithNullTokensAndZeroTotal()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("{}"));

        var page = await Body(await _platform.GetAsync("/organizations"));

        Assert.Empty(page.GetProperty("organizations").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextPageToken").ValueKind);
        Assert.Equal(0, page.GetProperty("totalSize").GetInt32());
    }

    [Theory]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=101", "pageSize")]
    [InlineData("pageSize=-1", "pageSize")]
    [InlineData("externalId=%01", "externalId")]
    public async Task AnInvalidQueryIs400KeyedByParameterWithNoUpstreamCall(string query, string field)
    {
        var response = await _platform.GetAsync($"/organizations?{query}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1/organizations"));
    }

    [Fact]
    public async Task AnOverlongExternalIdOrPageTokenIs400WithNoUpstreamCall()
    {
        var externalId = await _platform.GetAsync($"/organizations?externalId={new string('x', 256)}");
        var pageToken = await _platform.GetAsync($"/organizations?pageToken={new string('x', 1025)}");

        Assert.True((await ProblemAssert.IsProblem(externalId, HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("externalId", out _));
        Assert.True((await ProblemAssert.IsProblem(pageToken, HttpStatusCode.BadRequest)).GetProperty("errors").TryGetProperty("pageToken", out _));
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1/organizations"));
    }

    [Fact]
    public async Task AnEmptyPageSizeMeansTheDefault()
    {
        var response = await _platform.GetAsync("/organizations?pageSize=");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(_api.Fake.Requests("GET", "/api/v1/organizations"));
        Assert.Contains($"page_size={ListOrganizationsQuery.DefaultPageSize}", call.RequestMessage.Url);
    }

    [Theory]
    [InlineData("pageSize=ten")]
    [InlineData("pageSize=1e3")]
    [InlineData("pageSize=99999999999")]
    [InlineData("pageSize=%205")]
    [InlineData("pageSize=5%20")]
    [InlineData("pageSize=%2B5")]
    [InlineData("pageSize=-1")]
    public async Task ANonNumericPageSizeIs400NamingPageSizeWithNoUpstreamCall(string query)
    {
        var response = await _platform.GetAsync($"/organizations?{query}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors").GetProperty("pageSize");
        Assert.Contains("whole number", errors[0].GetString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1/organizations"));
    }

    // Bound as one string, a repeated parameter would be both values joined by a comma: neither is what was meant.
    [Theory]
    [InlineData("externalId=acme&externalId=globex", "externalId")]
    [InlineData("externalId=acme&ExternalId=acme", "externalId")]
    [InlineData("pageToken=abc&pageToken=def", "pageToken")]
    [InlineData("pageSize=5&pageSize=6", "pageSize")]
    [InlineData("pageSize=5&pageToken=abc&pageSize=", "pageSize")]
    public async Task AParameterGivenMoreThanOnceIs400NamingItWithNoUpstreamCall(string query, string parameter)
    {
        var response = await _platform.GetAsync($"/organizations?{query}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.Equal([parameter], errors.EnumerateObject().Select(error => error.Name));
        Assert.Equal($"{parameter} was given more than once.", Assert.Single(errors.GetProperty(parameter).EnumerateArray()).GetString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1/organizations"));
    }

    [Fact]
    public async Task APageTokenScalekitRejectsIs400KeyedByPageToken()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(400).WithHeader("Content-Type", "application/json").WithBody("""
                {"code":3,"message":"bad token","details":[{"@type":"type.googleapis.com/scalekit.v1.errdetails.ErrorInfo","error_code":"INVALID_ARGUMENT",
                 "validation_error_info":{"field_violations":[{"field":"page_token","description":"value is not a page token this API issued"}]}}]}
                """));

        var response = await _platform.GetAsync("/organizations?pageToken=forged");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("pageToken", out _), problem.ToString());
    }

    [Fact]
    public async Task AFailingUpstreamIs502()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));

        var response = await _platform.GetAsync("/organizations");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
    }

    [Fact]
    public async Task AListEntryWithoutAnIdIs502()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"organizations":[{"display_name":"no id"}],"total_size":1}"""));

        var response = await _platform.GetAsync("/organizations");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
    }

    [Fact]
    public async Task APageWhoseNextTokenIsTheTokenThatAskedForItIs502RatherThanAnEndlessLoop()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").WithParam("page_token", "p2").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"organizations":[{"id":"org_2"}],"next_page_token":"p2","prev_page_token":"p1","total_size":3}"""));

        var response = await _platform.GetAsync("/organizations?pageToken=p2");

        await ProblemAssert.IsProblem(response, HttpStatusCode.BadGateway);
        Assert.Equal("p2", LastQuery()["page_token"]);
    }

    [Fact]
    public async Task AnEmptyPageWithANextTokenIsPassedOnAsScalekitAnsweredIt()
    {
        _api.Fake.Server.Given(Request.Create().WithPath("/api/v1/organizations").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"organizations":[],"next_page_token":"p2","total_size":3}"""));

        var page = await Body(await _platform.GetAsync("/organizations?pageToken=p1"));

        Assert.Empty(page.GetProperty("organizations").EnumerateArray());
        Assert.Equal("p2", page.GetProperty("nextPageToken").GetString());
    }
}
