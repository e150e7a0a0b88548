using System.Net;
using System.Net.Http.Headers;
using System.Text;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Infrastructure;

public sealed class ProblemDetailsTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public ProblemDetailsTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme");
    }

    [Theory]
    [InlineData("application/xml")]
    [InlineData("text/html")]
    [InlineData("text/*")]
    public async Task AnAcceptWithoutJsonStillGetsEachErrorAsProblemDetails(string accept)
    {
        _api.Fake.Server.Given(Request.Create().WithPath($"/api/v1/organizations/{Tokens.OrgB}").UsingGet()).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(500));
        var member = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));
        var platform = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read_all"]));

        var unauthenticated = await Send(_api.Client(), HttpMethod.Get, $"/organizations/{Tokens.OrgA}", accept);
        var otherTenant = await Send(member, HttpMethod.Get, $"/organizations/{Tokens.OrgB}", accept);
        var noRoute = await Send(member, HttpMethod.Get, "/no-such-route", accept);
        var wrongMethod = await Send(member, HttpMethod.Put, $"/organizations/{Tokens.OrgA}", accept);
        var upstreamFailure = await Send(platform, HttpMethod.Get, $"/organizations/{Tokens.OrgB}", accept);

        await ProblemAssert.IsProblem(unauthenticated, HttpStatusCode.Unauthorized);
        Assert.NotEmpty(unauthenticated.Headers.WwwAuthenticate);
        await ProblemAssert.IsProblem(otherTenant, HttpStatusCode.NotFound);
        await ProblemAssert.IsProblem(noRoute, HttpStatusCode.NotFound);
        await ProblemAssert.IsProblem(wrongMethod, HttpStatusCode.MethodNotAllowed);
        await ProblemAssert.IsProblem(upstreamFailure, HttpStatusCode.BadGateway);
    }

    [Fact]
    public async Task AHostNotInAllowedHostsIsA400ProblemWithTheUsualHeaders()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA, "Acme");
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["AllowedHosts"] = "api.example.com;*.internal.example" });
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]));
        var elsewhere = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}") { Headers = { Host = "evil.example" } };
        var allowed = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}") { Headers = { Host = "api.example.com" } };
        var wildcard = new HttpRequestMessage(HttpMethod.Get, $"/organizations/{Tokens.OrgA}") { Headers = { Host = "eu.internal.example" } };

        var refused = await client.SendAsync(elsewhere);
        var answered = await client.SendAsync(allowed);
        var answeredByPattern = await client.SendAsync(wildcard);

        var problem = await ProblemAssert.IsProblem(refused, HttpStatusCode.BadRequest);
        Assert.Equal("The request's Host is not one this API answers.", problem.GetProperty("detail").GetString());
        Assert.True(refused.Headers.CacheControl?.NoStore);
        Assert.Equal("nosniff", Assert.Single(refused.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(HttpStatusCode.OK, answeredByPattern.StatusCode);
        // One Scalekit call per allowed request; the refused one never reached it.
        Assert.Equal(2, fake.Requests("GET", $"/api/v1/organizations/{Tokens.OrgA}").Count);
    }

    [Fact]
    public async Task AMethodTheRouteDoesNotTakeIsNamedWithTheOnesItDoes()
    {
        var member = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read"]));

        var response = await member.PutAsync($"/organizations/{Tokens.OrgA}", null);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.MethodNotAllowed);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("PUT", detail);
        Assert.Contains("GET", detail);
        Assert.Contains("PATCH", detail);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    public async Task AMissingBodyIsNamedAsSuchWithoutTheFrameworksWording(string body)
    {
        var creator = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"]));

        var response = await creator.PostAsync("/organizations", new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("body is required", detail);
        Assert.DoesNotContain("parameter", detail);
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Theory]
    [InlineData("/organizations/{0}")]
    [InlineData("/{0}/organizations")]
    [InlineData("/organizations/{0}/settings")]
    public async Task AnAccessTokenSentInThePathIsNotEchoedInTheProblemsInstance(string target)
    {
        // A client bug: the token went into the URL as well as the header. The logs redacted it, the answer's
        // instance member repeated it, for whatever records error bodies (a gateway, a client's error reporting).
        var misplaced = _api.Tokens.User(Tokens.OrgA, ["organizations:read"]);
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read", "organizations:write_all"]));

        var response = await client.GetAsync(string.Format(target, misplaced));

        var problem = await ProblemAssert.IsProblem(response, response.StatusCode);
        Assert.Equal(string.Format(target, "Redacted"), problem.GetProperty("instance").GetString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(misplaced.Split('.')[1], body);
        Assert.DoesNotContain(misplaced.Split('.')[2], body);
    }

    [Theory]
    [InlineData("/organizations/Bearer%20{0}", "/organizations/Bearer Redacted")]
    [InlineData("/organizations/org_1;access_token={0}", "/organizations/org_1;access_token=Redacted")]
    [InlineData("/organizations/access_token={0}/settings", "/organizations/access_token=Redacted/settings")]
    [InlineData("/organizations/x.y.{0}", "/organizations/x.y.Redacted")]
    public async Task AnAccessTokenInsideAPathSegmentIsNotEchoedInTheProblemsInstance(string target, string instance)
    {
        // The whole header pasted into the URL, or the token as a matrix parameter: the rest of the segment is kept.
        var misplaced = _api.Tokens.User(Tokens.OrgA, ["organizations:read"]);
        var client = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:read", "organizations:write_all"]));

        var response = await client.GetAsync(string.Format(target, misplaced));

        var problem = await ProblemAssert.IsProblem(response, response.StatusCode);
        Assert.Equal(instance, problem.GetProperty("instance").GetString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(misplaced.Split('.')[1], body);
        Assert.DoesNotContain(misplaced.Split('.')[2], body);
    }

    private static Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, string accept)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Accept.Add(MediaTypeWithQualityHeaderValue.Parse(accept));
        return client.SendAsync(request);
    }
}
