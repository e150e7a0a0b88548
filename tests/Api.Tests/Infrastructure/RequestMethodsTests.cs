using System.Text.Json;

namespace Api.Tests.Infrastructure;

/// <summary>Method names are case-sensitive (RFC 9110 §9.1), as a proxy or firewall in front matches them.</summary>
public sealed class RequestMethodsTests
{
    // Over a real socket: the method as the caller spelled it, which no client library changes on the way.
    [Theory]
    [InlineData("get", "/organizations/" + Tokens.OrgA, "DELETE, GET, HEAD, PATCH")]
    [InlineData("Get", "/organizations/current", "GET, HEAD")]
    [InlineData("delete", "/organizations/" + Tokens.OrgA, "DELETE, GET, HEAD, PATCH")]
    [InlineData("head", "/health/live", "GET, HEAD")]
    public async Task AMethodSpelledInAnotherCaseIs405NamingTheMethodsTheRouteTakes(string method, string path, string allow)
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA, "Acme");
        using var factory = new ApiFactory(fake);
        var address = factory.StartOnLoopback();
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:read", "organizations:delete"], ["admin"]);

        var answer = await Loopback.SendRawAsync(address,
            $"{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");

        // Before, routing matched it to GET or DELETE: the organization was read (200) or deleted (204).
        Assert.StartsWith("HTTP/1.1 405 ", answer, StringComparison.Ordinal);
        Assert.Contains($"\r\nAllow: {allow}\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/problem+json", answer, StringComparison.Ordinal);
        var problem = JsonDocument.Parse(answer[answer.IndexOf('{')..(answer.LastIndexOf('}') + 1)]).RootElement;
        Assert.Equal($"This endpoint does not take {method}; it takes {allow}.", problem.GetProperty("detail").GetString());
        Assert.Empty(fake.Requests("GET", "/api/v1"));
        Assert.Empty(fake.Requests("DELETE", "/api/v1"));
    }

    [Fact]
    public async Task AMethodInAnotherCaseFromAnAllowedPageIsA405ThePageCanRead()
    {
        // fetch() upper-cases GET, POST, DELETE, HEAD, OPTIONS and PUT, but sends "patch" as written.
        const string app = "https://app.example.com";
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Cors:AllowedOrigins:0"] = app });
        var address = factory.StartOnLoopback();
        var token = new Tokens(fake).User(Tokens.OrgA, ["organizations:write_all"]);

        var answer = await Loopback.SendRawAsync(address,
            $"patch /organizations/{Tokens.OrgA} HTTP/1.1\r\nHost: localhost\r\nOrigin: {app}\r\nAuthorization: Bearer {token}\r\n"
            + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");

        Assert.StartsWith("HTTP/1.1 405 ", answer, StringComparison.Ordinal);
        Assert.Contains($"\r\nAccess-Control-Allow-Origin: {app}\r\n", answer, StringComparison.Ordinal);
        Assert.Empty(fake.Requests("PATCH", "/api/v1"));
    }
}
