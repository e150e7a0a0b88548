using System.Net;
using System.Text;

namespace Api.Tests.Auth;

public sealed class RenamedRulesFixture() : ApiFixture(new Dictionary<string, string?>
{
    ["Authorization:Policies:UpdateOrganization:AnyOf:0:Roles:0"] = "org_owner",
    ["Authorization:Policies:ListOrganizations:AnyOf:0:Grants:0"] = "platform:orgs.list",
    // A second role on the settings rule's first alternative: admin AND billing_admin.
    ["Authorization:Policies:UpdateOrganizationSettings:AnyOf:0:Roles:1"] = "billing_admin",
});

/// <summary>Operators rename permissions and roles, or add some, in configuration; no code change is needed.</summary>
public sealed class RenamedRulesTests : IClassFixture<RenamedRulesFixture>
{
    private readonly RenamedRulesFixture _api;

    public RenamedRulesTests(RenamedRulesFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA);
    }

    private Task<HttpResponseMessage> Rename(string token) =>
        _api.Client(token).PatchAsync($"/organizations/{Tokens.OrgA}", new StringContent("""{"displayName":"Renamed"}""", Encoding.UTF8, "application/json"));

    [Fact]
    public async Task ARenamedRoleIsTheOneThatCounts()
    {
        var owner = await Rename(_api.Tokens.User(Tokens.OrgA, roles: ["org_owner"]));
        var admin = await Rename(_api.Tokens.User(Tokens.OrgA, roles: ["admin"]));

        Assert.Equal(HttpStatusCode.OK, owner.StatusCode);
        var problem = await ProblemAssert.IsProblem(admin, HttpStatusCode.Forbidden);
        Assert.Contains("'org_owner'", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ARenamedGrantIsTheOneThatCounts()
    {
        var renamed = await _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["platform:orgs.list"])).GetAsync("/organizations");
        var original = await _api.Client(_api.Tokens.Machine(Tokens.OrgA, ["organizations:read_all"])).GetAsync("/organizations");

        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        var problem = await ProblemAssert.IsProblem(original, HttpStatusCode.Forbidden);
        Assert.Equal(["platform:orgs.list"], problem.GetProperty("requiredGrants").EnumerateArray().Select(g => g.GetString()));
    }

    [Fact]
    public async Task AnAlternativeNamingSeveralRolesNeedsEveryOneOfThem()
    {
        var both = await ChangeSettings(_api.Tokens.User(Tokens.OrgA, roles: ["admin", "billing_admin"]));
        var firstOnly = await ChangeSettings(_api.Tokens.User(Tokens.OrgA, roles: ["admin"]));
        var secondOnly = await ChangeSettings(_api.Tokens.User(Tokens.OrgA, roles: ["billing_admin"]));

        Assert.Equal(HttpStatusCode.OK, both.StatusCode);
        var withoutSecond = await ProblemAssert.IsProblem(firstOnly, HttpStatusCode.Forbidden);
        Assert.Equal("missing_role", withoutSecond.GetProperty("reason").GetString());
        Assert.Contains("'billing_admin'", withoutSecond.GetProperty("detail").GetString());
        Assert.DoesNotContain("'admin'", withoutSecond.GetProperty("detail").GetString());
        var withoutFirst = await ProblemAssert.IsProblem(secondOnly, HttpStatusCode.Forbidden);
        Assert.Equal("missing_role", withoutFirst.GetProperty("reason").GetString());
        Assert.Contains("'admin'", withoutFirst.GetProperty("detail").GetString());
        Assert.Single(_api.Fake.Requests("PATCH", "/api/v1"));
    }

    [Fact]
    public async Task AnEntryFromTheEnvironmentReplacesOnlyTheEntryOfItsIndexInTheShippedList()
    {
        // Configuration merges lists by index: meant to narrow the read rule to a grant of the operator's own, this
        // replaces the first alternative's grant and leaves the shipped second one (organizations:read_all) in force,
        // as the README says.
        using var scalekit = new ScalekitFake();
        scalekit.AddOrganization(Tokens.OrgA);
        await using var process = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string>
        {
            ["Authorization__Policies__ReadOrganization__AnyOf__0__Grants__0"] = "acme:orgs.read",
        });
        var tokens = new Tokens(scalekit);

        async Task<HttpStatusCode> ReadAsync(string token)
        {
            using var http = await process.ClientAsync(token);
            using var response = await http.GetAsync($"/organizations/{Tokens.OrgA}");
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await ReadAsync(tokens.User(Tokens.OrgA, ["acme:orgs.read"])));
        Assert.Equal(HttpStatusCode.Forbidden, await ReadAsync(tokens.User(Tokens.OrgA, ["organizations:read"])));
        Assert.Equal(HttpStatusCode.OK, await ReadAsync(tokens.Machine(Tokens.OrgB, ["organizations:read_all"])));
    }

    private Task<HttpResponseMessage> ChangeSettings(string token) =>
        _api.Client(token).PatchAsync($"/organizations/{Tokens.OrgA}/settings",
            new StringContent("""{"features":[{"name":"sso","enabled":true}]}""", Encoding.UTF8, "application/json"));
}
