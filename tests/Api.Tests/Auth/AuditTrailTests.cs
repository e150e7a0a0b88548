using System.Net;
using System.Net.Http.Json;
using Serilog.Events;

namespace Api.Tests.Auth;

public sealed class AuditTrailTests
{
    private static List<LogEvent> Decisions(ApiFactory factory) =>
        factory.Logs.Events.Where(e => Property(e, "SourceContext") == "Api.Auth.AccessAudit").ToList();

    private static string? Property(LogEvent e, string name) =>
        e.Properties.TryGetValue(name, out var value) && value is ScalarValue scalar ? scalar.Value?.ToString() : null;

    private static void AssertNoTokenIn(ApiFactory factory, string token)
    {
        var logs = factory.Logs.AllText();
        Assert.DoesNotContain(token.Split('.')[1], logs);
        Assert.DoesNotContain(token.Split('.')[2], logs);
    }

    [Fact]
    public async Task AnAuthorizationDenialIsOneEventWithRoutePolicyReasonCallerAndTraceButNoToken()
    {
        using var fixture = new ApiFixture();
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"], customize: claims => claims["sub"] = "usr_audited");

        var response = await fixture.Client(token).GetAsync($"/organizations/{Tokens.OrgB}");

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        var decision = Assert.Single(Decisions(fixture.Factory));
        Assert.Equal(LogEventLevel.Information, decision.Level);
        Assert.Equal("deny", Property(decision, "Decision"));
        Assert.Equal("GET", Property(decision, "Method"));
        Assert.Equal("/organizations/{id}", Property(decision, "Route"));
        Assert.Equal("ReadOrganization", Property(decision, "Policy"));
        Assert.Equal("org_mismatch", Property(decision, "Reason"));
        Assert.Equal("usr_audited", Property(decision, "Subject"));
        Assert.Equal(ScalekitFake.Audience, Property(decision, "ClientId"));
        Assert.Equal(Tokens.OrgA, Property(decision, "OrganizationId"));
        Assert.Matches("^[0-9a-f]{32}$", Property(decision, "TokenId"));
        Assert.Equal("True", Property(decision, "ClaimsVerified"));
        Assert.Equal(problem.GetProperty("traceId").GetString(), Property(decision, "TraceId"));
        AssertNoTokenIn(fixture.Factory, token);
    }

    [Fact]
    public async Task AnotherOrganizationsExternalIdIsAuditedAsAnOrganizationMismatchLikeAnotherOrganizationsId()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgB, "Globex", externalId: "crm-b");
        var token = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"]);

        var response = await fixture.Client(token).GetAsync("/organizations/external/crm-b");

        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound);
        var decision = Assert.Single(Decisions(fixture.Factory));
        Assert.Equal("deny", Property(decision, "Decision"));
        Assert.Equal("/organizations/external/{externalId}", Property(decision, "Route"));
        Assert.Equal("ReadOrganizationByExternalId", Property(decision, "Policy"));
        Assert.Equal("org_mismatch", Property(decision, "Reason"));
        Assert.Equal(Tokens.OrgA, Property(decision, "OrganizationId"));
        Assert.Equal("True", Property(decision, "ClaimsVerified"));
    }

    [Fact]
    public async Task AMissingGrantIsAuditedAgainstThePolicyOfTheEndpoint()
    {
        using var fixture = new ApiFixture();
        var machine = fixture.Tokens.Machine(Tokens.OrgA, ["organizations:read"]);

        await fixture.Client(machine).PostAsJsonAsync("/organizations", new { displayName = "Nope" });

        var decision = Assert.Single(Decisions(fixture.Factory));
        Assert.Equal("missing_grant", Property(decision, "Reason"));
        Assert.Equal("CreateOrganization", Property(decision, "Policy"));
        Assert.StartsWith("m2morg_", Property(decision, "ClientId"));
        Assert.Equal(Property(decision, "ClientId"), Property(decision, "Subject"));
    }

    [Fact]
    public async Task ARejectedTokenIsAuditedWithItsReasonAndItsClaimsMarkedUnverifiedAndCleaned()
    {
        using var fixture = new ApiFixture();
        var expired = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"], customize: claims =>
        {
            Tokens.Expired(claims);
            claims["sub"] = "usr_forged\nHTTP GET /fake-log-line\u2028\u202Edesrever";
        });

        var response = await fixture.Client(expired).GetAsync($"/organizations/{Tokens.OrgA}");
        await fixture.Client().GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        var decisions = Decisions(fixture.Factory);
        Assert.Equal(2, decisions.Count);
        Assert.Equal("expired", Property(decisions[0], "Reason"));
        Assert.Equal("False", Property(decisions[0], "ClaimsVerified"));
        Assert.Equal("usr_forgedHTTP GET /fake-log-linedesrever", Property(decisions[0], "Subject"));
        Assert.Equal(Tokens.OrgA, Property(decisions[0], "OrganizationId"));
        Assert.Equal("token_missing", Property(decisions[1], "Reason"));
        Assert.Null(Property(decisions[1], "Subject"));
        AssertNoTokenIn(fixture.Factory, expired);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln")]                       // payload "not json"
    [InlineData("eyJhbGciOiJSUzI1NiJ9.WyJhbiIsImFycmF5Il0.c2ln")]               // payload ["an","array"]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.!!!.c2ln")]                                // payload not base64url
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOnsibmVzdGVkIjoidXNyXzEifSwib2lkIjo0Mn0.c2ln")] // {"sub":{"nested":"usr_1"},"oid":42}
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c3Jf_yIsIm9pZCI6Im9yZ18xMDAifQ.c2ln")]     // {"sub":"usr_\xFF","oid":"org_100"}, not UTF-8
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c3JfMSIsIm9pZCI6Im9yZ18xMDAiLCJzdWIiOiJ1c3JfMiJ9.c2ln")] // {"sub":"usr_1","oid":"org_100","sub":"usr_2"}: the line named usr_2
    public async Task AnUnreadableTokenIsAuditedWithoutClaims(string token)
    {
        using var fixture = new ApiFixture();

        var response = await fixture.Client(token).GetAsync($"/organizations/{Tokens.OrgA}");

        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized);
        var decision = Assert.Single(Decisions(fixture.Factory));
        Assert.Equal("False", Property(decision, "ClaimsVerified"));
        Assert.Null(Property(decision, "Subject"));
        Assert.Null(Property(decision, "OrganizationId"));
    }

    [Fact]
    public async Task ARejectedTokensClaimsAreReadPastNestedValues()
    {
        using var fixture = new ApiFixture();
        var expired = fixture.Tokens.User(Tokens.OrgA, ["organizations:read"], customize: claims =>
        {
            Tokens.Expired(claims);
            claims["aaa_nested"] = new Dictionary<string, object> { ["sub"] = "usr_decoy", ["list"] = new[] { "oid", "x" } };
            claims["jti"] = "tkn_audited";
        });

        await fixture.Client(expired).GetAsync($"/organizations/{Tokens.OrgA}");

        var decision = Assert.Single(Decisions(fixture.Factory));
        Assert.StartsWith("usr_", Property(decision, "Subject"));
        Assert.NotEqual("usr_decoy", Property(decision, "Subject"));
        Assert.Equal(Tokens.OrgA, Property(decision, "OrganizationId"));
        Assert.Equal("tkn_audited", Property(decision, "TokenId"));
    }

    [Fact]
    public async Task AllowsAreNotAuditedAtTheDefaultLevel()
    {
        using var fixture = new ApiFixture();
        fixture.Fake.AddOrganization(Tokens.OrgA);

        var response = await fixture.Client(fixture.Tokens.User(Tokens.OrgA, ["organizations:read"])).GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(Decisions(fixture.Factory));
    }

    [Fact]
    public async Task AllowsAreAuditedAtDebug()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Debug" });
        var client = factory.CreateClient();
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read"]);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);

        await client.GetAsync($"/organizations/{Tokens.OrgA}");

        var decision = Assert.Single(Decisions(factory));
        Assert.Equal(LogEventLevel.Debug, decision.Level);
        Assert.Equal("allow", Property(decision, "Decision"));
        Assert.Equal("ReadOrganization", Property(decision, "Policy"));
        Assert.Equal(Tokens.OrgA, Property(decision, "OrganizationId"));
        AssertNoTokenIn(factory, token);
    }
}
