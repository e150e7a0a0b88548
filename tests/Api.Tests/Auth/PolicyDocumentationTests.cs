using Api.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Auth;

/// <summary>README's policy table is checked against the mapped endpoints and the committed appsettings.json, so it cannot drift.</summary>
public sealed class PolicyDocumentationTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public void EveryReadmeRuleIsTheRuleConfiguredInAppsettings()
    {
        var rules = ConfiguredRules();
        foreach (var row in ReadmeRows())
        {
            Assert.True(rules.ContainsKey(row.Policy), $"README names policy {row.Policy}, which appsettings.json does not configure");
            Assert.Equal(Describe(rules[row.Policy]), row.Rule);
        }
    }

    [Fact]
    public void TheReadmeTableListsEveryEndpointWithThePolicyItNames()
    {
        var documented = ReadmeRows().Select(row => $"{row.Endpoint} {row.Policy}").Order(StringComparer.Ordinal).ToList();

        var mapped = api.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null)
            // Every GET also answers HEAD under the same policy; the README says so once rather than in every row.
            .SelectMany(endpoint => endpoint.Metadata.GetRequiredMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>().HttpMethods
                .Where(method => method != "HEAD")
                .Select(method => $"{method} {endpoint.RoutePattern.RawText!.TrimEnd('/')} {Assert.Single(endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>()).Policy}"))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(mapped, documented);
    }

    [Fact]
    public void EveryConfiguredPolicyIsDocumented()
    {
        var documented = ReadmeRows().Select(row => row.Policy).ToHashSet(StringComparer.Ordinal);
        Assert.All(ConfiguredRules().Keys, policy => Assert.Contains(policy, documented));
    }

    [Fact]
    public void TheRuleRendererReadsLikeTheIssue()
    {
        var rule = new AccessRule
        {
            AnyOf =
            [
                new AccessAlternative { Grants = ["a:delete"], Roles = ["admin", "owner"], SameOrganization = true },
                new AccessAlternative { Grants = ["a:write_all", "a:root"] },
            ],
        };

        Assert.Equal("grant `a:delete` and roles `admin` and `owner` and same organization; or grant `a:write_all` or `a:root`", Describe(rule));
    }

    /// <summary>The README wording of a rule: alternatives joined by "; or ", their parts by " and ".</summary>
    private static string Describe(AccessRule rule) => string.Join("; or ", rule.AnyOf.Select(alternative =>
    {
        var parts = new List<string>();
        if (alternative.Grants.Count > 0)
        {
            parts.Add("grant " + string.Join(" or ", alternative.Grants.Select(g => $"`{g}`")));
        }

        if (alternative.Roles.Count > 0)
        {
            parts.Add((alternative.Roles.Count == 1 ? "role " : "roles ") + string.Join(" and ", alternative.Roles.Select(r => $"`{r}`")));
        }

        if (alternative.SameOrganization)
        {
            parts.Add("same organization");
        }

        return string.Join(" and ", parts);
    }));

    private static Dictionary<string, AccessRule> ConfiguredRules()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(RepositoryFiles.PathOf("appsettings.json")).Build();
        var options = new AccessRulesOptions();
        configuration.GetSection(AccessRulesOptions.SectionName).Bind(options);
        Assert.NotEmpty(options.Policies);
        return options.Policies;
    }

    private static List<(string Endpoint, string Policy, string Rule)> ReadmeRows()
    {
        var lines = File.ReadAllLines(RepositoryFiles.PathOf("README.md"));
        var section = lines.SkipWhile(line => line != "## Authorization policies").Skip(1).TakeWhile(line => !line.StartsWith("## ", StringComparison.Ordinal));
        var rows = section
            .Where(line => line.StartsWith("| `", StringComparison.Ordinal))
            .Select(line => line.Trim('|').Split('|').Select(cell => cell.Trim()).ToArray())
            .Select(cells =>
            {
                Assert.Equal(3, cells.Length);
                var endpoint = cells[0].Trim('`');
                // The query string is documentation, not part of the route.
                var query = endpoint.IndexOf('?', StringComparison.Ordinal);
                return (query < 0 ? endpoint : endpoint[..query], cells[1].Trim('`'), cells[2]);
            })
            .ToList();
        Assert.NotEmpty(rows);
        return rows;
    }
}
