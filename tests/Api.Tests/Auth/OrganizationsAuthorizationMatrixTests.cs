using System.Net;
using System.Text;
using System.Text.Json;

namespace Api.Tests.Auth;

/// <summary>
/// The default rules of the organizations surface (appsettings.json), endpoint by endpoint: user and M2M tokens, grant
/// present/absent, role present/absent, same/other/no oid, and the *_all grants. The target is always organization A
/// (external id "crm-a"). A denial never reaches Scalekit, except the external-id lookup, which must look first.
/// </summary>
public sealed class OrganizationsAuthorizationMatrixTests : IClassFixture<ApiFixture>
{
    private const string Read = "organizations:read";
    private const string ReadAll = "organizations:read_all";
    private const string WriteAll = "organizations:write_all";
    private const string Delete = "organizations:delete";
    private const string Admin = "admin";
    private const string None = "";

    private readonly ApiFixture _api;

    public OrganizationsAuthorizationMatrixTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA, "Acme", externalId: "crm-a");
        _api.Fake.AddOrganization(Tokens.OrgB, "Globex", externalId: "crm-b");
    }

    public enum Endpoint { Current, List, ByExternalId, Update, Settings, Delete, PortalLink }

    public enum Kind { User, Machine }

    /// <summary>The caller's oid: organization A (the target), organization B, or no oid claim.</summary>
    public enum Caller { SameOrg, OtherOrg, NoOid }

    public static TheoryData<Endpoint, Kind, Caller, string, string, HttpStatusCode, string?> Matrix => new()
    {
        // GET /organizations/current: grant read, and the token must carry an oid.
        { Endpoint.Current, Kind.User, Caller.SameOrg, Read, None, HttpStatusCode.OK, null },
        { Endpoint.Current, Kind.Machine, Caller.SameOrg, Read, None, HttpStatusCode.OK, null },
        { Endpoint.Current, Kind.User, Caller.SameOrg, None, Admin, HttpStatusCode.Forbidden, "missing_grant" },
        { Endpoint.Current, Kind.Machine, Caller.SameOrg, ReadAll, None, HttpStatusCode.Forbidden, "missing_grant" },
        { Endpoint.Current, Kind.User, Caller.NoOid, Read, None, HttpStatusCode.Forbidden, "oid_missing" },
        { Endpoint.Current, Kind.Machine, Caller.NoOid, Read, None, HttpStatusCode.Forbidden, "oid_missing" },

        // GET /organizations: grant read_all only.
        { Endpoint.List, Kind.User, Caller.SameOrg, ReadAll, None, HttpStatusCode.OK, null },
        { Endpoint.List, Kind.Machine, Caller.OtherOrg, ReadAll, None, HttpStatusCode.OK, null },
        { Endpoint.List, Kind.Machine, Caller.NoOid, ReadAll, None, HttpStatusCode.OK, null },
        { Endpoint.List, Kind.User, Caller.SameOrg, Read, Admin, HttpStatusCode.Forbidden, "missing_grant" },
        { Endpoint.List, Kind.Machine, Caller.SameOrg, Read + "," + WriteAll, None, HttpStatusCode.Forbidden, "missing_grant" },

        // GET /organizations/external/{externalId}: read_all, or read when the found organization is the caller's.
        { Endpoint.ByExternalId, Kind.User, Caller.SameOrg, Read, None, HttpStatusCode.OK, null },
        { Endpoint.ByExternalId, Kind.Machine, Caller.SameOrg, Read, None, HttpStatusCode.OK, null },
        { Endpoint.ByExternalId, Kind.User, Caller.OtherOrg, Read, Admin, HttpStatusCode.NotFound, null },
        { Endpoint.ByExternalId, Kind.Machine, Caller.OtherOrg, Read, None, HttpStatusCode.NotFound, null },
        { Endpoint.ByExternalId, Kind.User, Caller.OtherOrg, ReadAll, None, HttpStatusCode.OK, null },
        { Endpoint.ByExternalId, Kind.Machine, Caller.NoOid, ReadAll, None, HttpStatusCode.OK, null },
        { Endpoint.ByExternalId, Kind.User, Caller.NoOid, Read, None, HttpStatusCode.Forbidden, "oid_missing" },
        { Endpoint.ByExternalId, Kind.User, Caller.SameOrg, WriteAll, Admin, HttpStatusCode.Forbidden, "missing_grant" },
        { Endpoint.ByExternalId, Kind.Machine, Caller.SameOrg, None, None, HttpStatusCode.Forbidden, "missing_grant" },

        // PATCH /organizations/{id}: (same oid AND role admin) OR grant write_all.
        { Endpoint.Update, Kind.User, Caller.SameOrg, None, Admin, HttpStatusCode.OK, null },
        { Endpoint.Update, Kind.User, Caller.SameOrg, Read, "member", HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.Update, Kind.User, Caller.SameOrg, Admin, None, HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.Update, Kind.User, Caller.OtherOrg, Read, Admin, HttpStatusCode.NotFound, null },
        { Endpoint.Update, Kind.User, Caller.OtherOrg, WriteAll, Admin, HttpStatusCode.OK, null },
        { Endpoint.Update, Kind.User, Caller.NoOid, None, Admin, HttpStatusCode.Forbidden, "oid_missing" },
        { Endpoint.Update, Kind.Machine, Caller.SameOrg, ReadAll + "," + Delete, None, HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.Update, Kind.Machine, Caller.SameOrg, WriteAll, None, HttpStatusCode.OK, null },
        { Endpoint.Update, Kind.Machine, Caller.OtherOrg, WriteAll, None, HttpStatusCode.OK, null },

        // PATCH /organizations/{id}/settings: as PATCH.
        { Endpoint.Settings, Kind.User, Caller.SameOrg, None, Admin, HttpStatusCode.OK, null },
        { Endpoint.Settings, Kind.User, Caller.SameOrg, Read, "member", HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.Settings, Kind.User, Caller.OtherOrg, None, Admin, HttpStatusCode.NotFound, null },
        { Endpoint.Settings, Kind.User, Caller.NoOid, None, Admin, HttpStatusCode.Forbidden, "oid_missing" },
        { Endpoint.Settings, Kind.Machine, Caller.SameOrg, None, None, HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.Settings, Kind.Machine, Caller.OtherOrg, WriteAll, None, HttpStatusCode.OK, null },

        // DELETE /organizations/{id}: (same oid AND role admin AND grant delete) OR grant write_all.
        { Endpoint.Delete, Kind.User, Caller.SameOrg, Delete, Admin, HttpStatusCode.NoContent, null },
        { Endpoint.Delete, Kind.User, Caller.SameOrg, None, Admin, HttpStatusCode.Forbidden, "missing_grant" },
        { Endpoint.Delete, Kind.User, Caller.SameOrg, Delete, "member", HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.Delete, Kind.User, Caller.OtherOrg, Delete, Admin, HttpStatusCode.NotFound, null },
        { Endpoint.Delete, Kind.User, Caller.NoOid, Delete, Admin, HttpStatusCode.Forbidden, "oid_missing" },
        { Endpoint.Delete, Kind.User, Caller.OtherOrg, WriteAll, None, HttpStatusCode.NoContent, null },
        { Endpoint.Delete, Kind.Machine, Caller.SameOrg, Delete, None, HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.Delete, Kind.Machine, Caller.SameOrg, ReadAll, None, HttpStatusCode.Forbidden, "missing_grant" },
        { Endpoint.Delete, Kind.Machine, Caller.OtherOrg, WriteAll, None, HttpStatusCode.NoContent, null },

        // POST /organizations/{id}/portal-links: (same oid AND role admin) OR grant write_all.
        { Endpoint.PortalLink, Kind.User, Caller.SameOrg, None, Admin, HttpStatusCode.OK, null },
        { Endpoint.PortalLink, Kind.User, Caller.SameOrg, Read, "member", HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.PortalLink, Kind.User, Caller.OtherOrg, None, Admin, HttpStatusCode.NotFound, null },
        { Endpoint.PortalLink, Kind.User, Caller.NoOid, None, Admin, HttpStatusCode.Forbidden, "oid_missing" },
        { Endpoint.PortalLink, Kind.Machine, Caller.SameOrg, ReadAll, None, HttpStatusCode.Forbidden, "missing_role" },
        { Endpoint.PortalLink, Kind.Machine, Caller.OtherOrg, WriteAll, None, HttpStatusCode.OK, null },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task EachEndpointAppliesItsConfiguredRule(Endpoint endpoint, Kind kind, Caller caller, string grants, string roles, HttpStatusCode expected, string? reason)
    {
        var oid = caller switch { Caller.SameOrg => Tokens.OrgA, Caller.OtherOrg => Tokens.OrgB, _ => null };
        var grantList = grants.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var token = kind == Kind.User
            ? _api.Tokens.User(oid, permissions: grantList, roles: roles.Split(',', StringSplitOptions.RemoveEmptyEntries))
            : _api.Tokens.Machine(oid, scopes: grantList);

        var response = await _api.Client(token).SendAsync(RequestFor(endpoint));

        var upstream = _api.Fake.Requests(UpstreamMethod(endpoint), "/api/v1");
        if (expected is HttpStatusCode.OK or HttpStatusCode.NoContent)
        {
            Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            Assert.NotEmpty(upstream);
            return;
        }

        var problem = await ProblemAssert.IsProblem(response, expected);
        if (reason is not null)
        {
            Assert.Equal(reason, problem.GetProperty("reason").GetString());
            Assert.StartsWith("Bearer error=\"insufficient_scope\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
        else
        {
            // Someone else's organization: the very 404 a missing one gets, without a hint.
            Assert.Equal("The organization was not found.", problem.GetProperty("detail").GetString());
            Assert.False(problem.TryGetProperty("reason", out _));
        }

        // Only the external-id lookup has to ask Scalekit before it can tell whose organization it is.
        var expectedCalls = endpoint == Endpoint.ByExternalId && expected == HttpStatusCode.NotFound ? 1 : 0;
        Assert.Equal(expectedCalls, _api.Fake.Requests("GET", "/api/v1").Count + _api.Fake.Requests("PATCH", "/api/v1").Count
            + _api.Fake.Requests("DELETE", "/api/v1").Count + _api.Fake.Requests("PUT", "/api/v1").Count);
        Assert.NotNull(_api.Fake.Stored(Tokens.OrgA));
    }

    [Fact]
    public async Task CurrentFollowsTheTokensOidRatherThanAnyRoute()
    {
        var response = await _api.Client(_api.Tokens.Machine(Tokens.OrgB, [Read])).SendAsync(RequestFor(Endpoint.Current));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Tokens.OrgB, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A403NamesEveryGrantThatWouldHaveAllowedTheRequest()
    {
        var token = _api.Tokens.User(Tokens.OrgA, permissions: [Read], roles: [Admin]);

        var response = await _api.Client(token).SendAsync(RequestFor(Endpoint.Delete));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
        Assert.Equal([Delete, WriteAll], problem.GetProperty("requiredGrants").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal($"Bearer error=\"insufficient_scope\", scope=\"{Delete} {WriteAll}\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [InlineData(Kind.User)]
    [InlineData(Kind.Machine)]
    public async Task AMissingRoleIsNamedInThe403TogetherWithTheGrantThatWouldAlsoDo(Kind kind)
    {
        var token = kind == Kind.User
            ? _api.Tokens.User(Tokens.OrgA, permissions: [Read], roles: ["member"])
            : _api.Tokens.Machine(Tokens.OrgA, scopes: [Read]);

        var response = await _api.Client(token).SendAsync(RequestFor(Endpoint.Update));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
        Assert.Equal($"The access token lacks the role '{Admin}' (or the grant '{WriteAll}').", problem.GetProperty("detail").GetString());
        Assert.Equal([WriteAll], problem.GetProperty("requiredGrants").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal($"Bearer error=\"insufficient_scope\", scope=\"{WriteAll}\"", response.Headers.WwwAuthenticate.ToString());
    }

    // Without an oid no SameOrganization alternative can pass, whatever the token holds: naming its grant or role
    // (organizations:read, admin, organizations:delete) would send the caller after something that cannot help.
    [Theory]
    [InlineData(Endpoint.ByExternalId, Read, None, ReadAll)]
    [InlineData(Endpoint.ByExternalId, None, None, ReadAll)]
    [InlineData(Endpoint.Update, None, Admin, WriteAll)]
    [InlineData(Endpoint.Update, None, None, WriteAll)]
    [InlineData(Endpoint.Delete, Delete, Admin, WriteAll)]
    [InlineData(Endpoint.Delete, None, None, WriteAll)]
    [InlineData(Endpoint.Current, None, None, None)]
    public async Task A403ToATokenWithoutOidNamesOnlyWhatAllowsTheRequestWithoutOne(Endpoint endpoint, string grants, string roles, string allowedBy)
    {
        var token = _api.Tokens.User(oid: null, permissions: grants.Split(',', StringSplitOptions.RemoveEmptyEntries),
            roles: roles.Split(',', StringSplitOptions.RemoveEmptyEntries));

        var response = await _api.Client(token).SendAsync(RequestFor(endpoint));

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden);
        Assert.Equal("oid_missing", problem.GetProperty("reason").GetString());
        if (allowedBy == None)
        {
            Assert.Equal("The access token carries no organization (oid) claim.", problem.GetProperty("detail").GetString());
            Assert.False(problem.TryGetProperty("requiredGrants", out _));
            Assert.Equal("Bearer error=\"insufficient_scope\"", response.Headers.WwwAuthenticate.ToString());
        }
        else
        {
            Assert.Equal($"The access token carries no organization (oid) claim; without one, only the grant '{allowedBy}' allows this request.",
                problem.GetProperty("detail").GetString());
            Assert.Equal([allowedBy], problem.GetProperty("requiredGrants").EnumerateArray().Select(g => g.GetString()));
            Assert.Equal($"Bearer error=\"insufficient_scope\", scope=\"{allowedBy}\"", response.Headers.WwwAuthenticate.ToString());
        }
    }

    private static HttpRequestMessage RequestFor(Endpoint endpoint) => endpoint switch
    {
        Endpoint.Current => new(HttpMethod.Get, "/organizations/current"),
        Endpoint.List => new(HttpMethod.Get, "/organizations?pageSize=5"),
        Endpoint.ByExternalId => new(HttpMethod.Get, "/organizations/external/crm-a"),
        Endpoint.Update => new(HttpMethod.Patch, $"/organizations/{Tokens.OrgA}") { Content = Json("""{"displayName":"Renamed"}""") },
        Endpoint.Settings => new(HttpMethod.Patch, $"/organizations/{Tokens.OrgA}/settings") { Content = Json("""{"features":[{"name":"sso","enabled":false}]}""") },
        Endpoint.Delete => new(HttpMethod.Delete, $"/organizations/{Tokens.OrgA}"),
        Endpoint.PortalLink => new(HttpMethod.Post, $"/organizations/{Tokens.OrgA}/portal-links"),
        _ => throw new ArgumentOutOfRangeException(nameof(endpoint)),
    };

    private static string UpstreamMethod(Endpoint endpoint) => endpoint switch
    {
        Endpoint.Update or Endpoint.Settings => "PATCH",
        Endpoint.Delete => "DELETE",
        Endpoint.PortalLink => "PUT",
        _ => "GET",
    };

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
