using System.Net;
using System.Net.Http.Json;

namespace Api.Tests.Auth;

public sealed class AuthorizationTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public AuthorizationTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA);
        _api.Fake.AddOrganization(Tokens.OrgB, "Globex");
    }

    public enum Kind { User, Machine }

    private string Token(Kind kind, string? oid, params string[] grants) => kind == Kind.User
        ? _api.Tokens.User(oid, permissions: grants)
        : _api.Tokens.Machine(oid, scopes: grants);

    [Theory]
    [InlineData(Kind.User)]
    [InlineData(Kind.Machine)]
    public async Task CreateIsAllowedWithTheCreateGrant(Kind kind)
    {
        var response = await _api.Client(Token(kind, Tokens.OrgA, "organizations:create"))
            .PostAsJsonAsync("/organizations", new { displayName = "Initech" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Single(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Theory]
    [InlineData(Kind.User)]
    [InlineData(Kind.Machine)]
    public async Task CreateIs403NamingTheGrantWhenItIsMissing(Kind kind)
    {
        var response = await _api.Client(Token(kind, Tokens.OrgA, "organizations:read", "organizations:read_all"))
            .PostAsJsonAsync("/organizations", new { displayName = "Initech" });

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
        Assert.Contains("organizations:create", problem.GetProperty("detail").GetString());
        Assert.Equal("missing_grant", problem.GetProperty("reason").GetString());
        Assert.Equal("Bearer error=\"insufficient_scope\", scope=\"organizations:create\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Empty(_api.Fake.Requests("POST", "/api/v1/organizations"));
    }

    [Theory]
    [InlineData(Kind.User)]
    [InlineData(Kind.Machine)]
    public async Task ReadingTheCallersOwnOrganizationIsAllowedWithTheReadGrant(Kind kind)
    {
        var response = await _api.Client(Token(kind, Tokens.OrgA, "organizations:read")).GetAsync($"/organizations/{Tokens.OrgA}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(Kind.User)]
    [InlineData(Kind.Machine)]
    public async Task ReadingAnotherOrganizationIsTheSame404AsAMissingOneAndNeverCallsScalekit(Kind kind)
    {
        var token = Token(kind, Tokens.OrgA, "organizations:read");

        var otherOrg = await _api.Client(token).GetAsync($"/organizations/{Tokens.OrgB}");
        var otherProblem = await ProblemAssert.IsProblem(otherOrg, HttpStatusCode.NotFound);
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1/organizations"));

        var readAll = Token(kind, Tokens.OrgA, "organizations:read_all");
        var missing = await _api.Client(readAll).GetAsync("/organizations/org_999");
        var missingProblem = await ProblemAssert.IsProblem(missing, HttpStatusCode.NotFound);

        foreach (var field in new[] { "type", "title", "status", "detail" })
        {
            Assert.Equal(missingProblem.GetProperty(field).ToString(), otherProblem.GetProperty(field).ToString());
        }

        Assert.False(otherProblem.TryGetProperty("reason", out _));
    }

    [Theory]
    [InlineData(Kind.User)]
    [InlineData(Kind.Machine)]
    public async Task ReadAllCrossesOrganizations(Kind kind)
    {
        var response = await _api.Client(Token(kind, Tokens.OrgA, "organizations:read_all")).GetAsync($"/organizations/{Tokens.OrgB}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Tokens.OrgB, (await response.Content.ReadFromJsonAsync<Dictionary<string, object>>())!["id"].ToString());
    }

    [Theory]
    [InlineData(Kind.User)]
    [InlineData(Kind.Machine)]
    public async Task ReadWithoutAnyReadGrantIs403(Kind kind)
    {
        var response = await _api.Client(Token(kind, Tokens.OrgA, "organizations:create")).GetAsync($"/organizations/{Tokens.OrgA}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains("organizations:read", detail);
        Assert.Contains("organizations:read_all", detail);
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task ReadWithTheGrantButNoOrganizationClaimIs403()
    {
        var response = await _api.Client(Token(Kind.User, oid: null, "organizations:read")).GetAsync($"/organizations/{Tokens.OrgA}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
        Assert.Equal("oid_missing", problem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task OrganizationIdsAreComparedExactly()
    {
        var response = await _api.Client(Token(Kind.User, "ORG_100", "organizations:read")).GetAsync($"/organizations/{Tokens.OrgA}");
        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData($"/organizations/{Tokens.OrgB}")]
    [InlineData($"/organizations/{Tokens.OrgA}")]
    [InlineData("/organizations/current")]
    public async Task AnOidNamingSeveralOrganizationsActsForNoneOfThem(string path)
    {
        // One token, one organization: the first of a list must not decide which tenant it may read.
        var token = _api.Tokens.User(oid: null, permissions: ["organizations:read"],
            customize: c => c["oid"] = new[] { Tokens.OrgB, Tokens.OrgA });
        var response = await _api.Client(token).GetAsync(path);

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
        Assert.Equal("oid_missing", problem.GetProperty("reason").GetString());
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task AStringPermissionsClaimIsNotSplitIntoSeveralGrants()
    {
        var token = _api.Tokens.User(Tokens.OrgA, customize: c => c["permissions"] = "organizations:create organizations:read");
        var response = await _api.Client(token).GetAsync($"/organizations/{Tokens.OrgA}");
        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AScopeStringIsSplitIntoScopes()
    {
        var token = _api.Tokens.Machine(Tokens.OrgA, customize: c =>
        {
            c.Remove("scopes");
            c["scope"] = "openid organizations:read";
        });
        var response = await _api.Client(token).GetAsync($"/organizations/{Tokens.OrgA}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // 4500 values keep the token under Kestrel's 32 KB header limit; the one that grants comes last. How long the
    // split takes is measured by bench/Api.Benchmarks (TokenValidationBenchmarks), not here.
    [Fact]
    public async Task AScopeStringOfThousandsOfValuesIsSplitIntoScopes()
    {
        var scope = string.Join(' ', Enumerable.Range(0, 4500).Select(i => i.ToString("x4")).Append("organizations:read"));
        var granted = _api.Tokens.Machine(Tokens.OrgA, customize: c => c["scope"] = scope);
        var notGranted = _api.Tokens.Machine(Tokens.OrgA, customize: c => c["scope"] = scope[..scope.LastIndexOf(' ')]);
        Assert.True(granted.Length < 32 * 1024, $"{granted.Length} characters would not pass Kestrel's header limit");

        var response = await _api.Client(granted).GetAsync($"/organizations/{Tokens.OrgA}");
        var refused = await _api.Client(notGranted).GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Theory]
    [InlineData("scopes")]
    [InlineData("scope")]
    public async Task AUserTokensScopesAreNotGrants(string claim)
    {
        // What a user's client asked for at sign-in, not what the user was granted: no permission, no read.
        var token = _api.Tokens.User(Tokens.OrgA, permissions: [], customize: c =>
            c[claim] = claim == "scope" ? "openid organizations:read" : new[] { "organizations:read" });
        var response = await _api.Client(token).GetAsync($"/organizations/{Tokens.OrgA}");
        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ScopesGrantOnlyWhenTheSubjectIsTheClient()
    {
        var token = _api.Tokens.Machine(Tokens.OrgA, scopes: ["organizations:read"], customize: c => c["sub"] = "usr_100");
        var response = await _api.Client(token).GetAsync($"/organizations/{Tokens.OrgA}");
        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
    }

    // JWT claim names are case-sensitive (RFC 7519 4), and a client's custom claims may be named anything: "Permissions"
    // is not "permissions". ClaimsIdentity compares names without case; the token library's identity does not, and the
    // validated-token cache's copies must not either, so the second request (a cache hit) is checked too.
    [Theory]
    [InlineData(Kind.User, "Permissions", "organizations:read_all")]
    [InlineData(Kind.User, "PERMISSIONS", "organizations:read_all")]
    [InlineData(Kind.Machine, "Scopes", "organizations:read_all")]
    public async Task AClaimNamedLikeAGrantClaimInAnotherCaseGrantsNothing(Kind kind, string claim, string grant)
    {
        var token = kind == Kind.User
            ? _api.Tokens.User(Tokens.OrgA, permissions: [], customize: c => c[claim] = new[] { grant })
            : _api.Tokens.Machine(Tokens.OrgA, scopes: [], customize: c => c[claim] = new[] { grant });

        for (var round = 0; round < 2; round++)
        {
            await ProblemAssert.IsProblem(await _api.Client(token).GetAsync($"/organizations/{Tokens.OrgB}"), HttpStatusCode.Forbidden);
        }
    }

    [Fact]
    public async Task ARoleOrOidInAnotherCaseCountsForNothing()
    {
        var token = _api.Tokens.User(oid: null, permissions: ["organizations:read"], customize: c =>
        {
            c["Roles"] = new[] { "admin" };
            c["OID"] = Tokens.OrgA;
        });

        for (var round = 0; round < 2; round++)
        {
            var problem = await ProblemAssert.IsProblem(await _api.Client(token).GetAsync($"/organizations/{Tokens.OrgA}"), HttpStatusCode.Forbidden);
            Assert.Equal("oid_missing", problem.GetProperty("reason").GetString());
            using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/organizations/{Tokens.OrgA}")
            {
                Content = JsonContent.Create(new { displayName = "Renamed" }),
            };
            await ProblemAssert.IsProblem(await _api.Client(token).SendAsync(patch), HttpStatusCode.Forbidden);
        }

        Assert.Empty(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    // Grants are compared exactly: no wildcard, prefix or case folding makes one grant another.
    [Theory]
    [InlineData("*")]
    [InlineData("organizations:*")]
    [InlineData("ORGANIZATIONS:READ_ALL")]
    [InlineData("organizations:read_all ")]
    [InlineData("organizations:read_all\u0000")]
    public async Task APermissionOnlyResemblingAGrantGrantsNothing(string permission)
    {
        var token = _api.Tokens.User(Tokens.OrgA, permissions: [System.Text.RegularExpressions.Regex.Unescape(permission)]);

        var response = await _api.Client(token).GetAsync($"/organizations/{Tokens.OrgB}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
        Assert.Empty(_api.Fake.Requests("GET", "/api/v1"));
    }

    [Fact]
    public async Task ARoleIsNotAGrant()
    {
        var token = _api.Tokens.User(Tokens.OrgA, permissions: [], roles: ["organizations:create", "admin"]);
        var response = await _api.Client(token).PostAsJsonAsync("/organizations", new { displayName = "Initech" });
        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AnUnknownRouteIsAProblem404()
    {
        var response = await _api.Client(Token(Kind.User, Tokens.OrgA, "organizations:read")).GetAsync("/not-a-route");
        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnUnsupportedMethodIsAProblem405()
    {
        var response = await _api.Client(Token(Kind.User, Tokens.OrgA, "organizations:read")).PutAsync($"/organizations/{Tokens.OrgA}", null);
        await ProblemAssert.IsProblem(response, HttpStatusCode.MethodNotAllowed);
    }
}
