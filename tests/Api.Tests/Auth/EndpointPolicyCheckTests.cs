using Api.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Api.Tests.Auth;

/// <summary>The startup check over the endpoints the API maps, without starting a host.</summary>
public sealed class EndpointPolicyCheckTests
{
    private static readonly AccessAlternative SameOrganization = new() { Grants = ["organizations:read"], SameOrganization = true };

    private static string? Failure(Dictionary<string, AccessRule> policies, params RouteEndpoint[] endpoints)
    {
        var services = new ServiceCollection();
        services.AddOptions<AccessRulesOptions>().Configure(options => options.Policies = policies);
        var routes = new Routes(services.BuildServiceProvider(), new DefaultEndpointDataSource(endpoints));
        try
        {
            EndpointPolicyCheck.Verify(routes);
            return null;
        }
        catch (OptionsValidationException ex)
        {
            return ex.Message;
        }
    }

    private static RouteEndpoint Endpoint(string pattern, string policy, OrganizationScope? scope = null)
    {
        var metadata = new List<object> { new AuthorizeAttribute(policy) };
        if (scope is { } value)
        {
            metadata.Add(new OrganizationScopeMetadata(value));
        }

        return new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse(pattern), 0, new EndpointMetadataCollection(metadata), pattern);
    }

    [Fact]
    public void AnEndpointWhosePolicyHasNoRuleFailsNamingTheKey()
    {
        var failure = Failure(new() { ["Read"] = new() { AnyOf = [SameOrganization] } }, Endpoint("/organizations/{id}", "Raed"));
        Assert.Contains("Authorization:Policies:Raed is missing", failure);
    }

    [Fact]
    public void ARuleNoEndpointAsksForFailsNamingItAndThePolicyItProbablyMeant()
    {
        var rule = new AccessRule { AnyOf = [SameOrganization] };

        var failure = Failure(new() { ["Read"] = rule, ["Raed"] = rule, ["Unrelated"] = rule }, Endpoint("/organizations/{id}", "Read"));

        Assert.Contains("Authorization:Policies:Raed is not the policy of any endpoint: did you mean Authorization:Policies:Read?", failure);
        Assert.Contains("Authorization:Policies:Unrelated is not the policy of any endpoint (they are Read; see README.md).", failure);
        Assert.Null(Failure(new() { ["Read"] = rule }, Endpoint("/organizations/{id}", "Read")));
    }

    [Fact]
    public void SameOrganizationOnARouteWithoutAnOrganizationFailsNamingTheAlternative()
    {
        var rule = new AccessRule { AnyOf = [new() { Grants = ["organizations:read_all"] }, SameOrganization] };

        var failure = Failure(new() { ["List"] = rule }, Endpoint("/organizations", "List"));

        Assert.Contains("Authorization:Policies:List:AnyOf:1:SameOrganization", failure);
        Assert.DoesNotContain("AnyOf:0", failure);
    }

    [Theory]
    [InlineData("/organizations/{id}", null)]
    [InlineData("/organizations/{id}/settings", null)]
    [InlineData("/organizations/current", OrganizationScope.CallersOrganization)]
    [InlineData("/organizations/external/{externalId}", OrganizationScope.FoundByHandler)]
    public void SameOrganizationIsAcceptedWhereTheEndpointKnowsItsOrganization(string pattern, OrganizationScope? scope) =>
        Assert.Null(Failure(new() { ["Read"] = new() { AnyOf = [SameOrganization] } }, Endpoint(pattern, "Read", scope)));

    [Fact]
    public void TheShippedRulesPassForTheShippedEndpoints()
    {
        using var fixture = new ApiFixture();
        var app = fixture.Factory.Services;
        var routes = new Routes(app, app.GetRequiredService<EndpointDataSource>());

        EndpointPolicyCheck.Verify(routes);
    }

    private sealed class Routes(IServiceProvider services, EndpointDataSource endpoints) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider { get; } = services;

        public ICollection<EndpointDataSource> DataSources { get; } = [endpoints];

        public IApplicationBuilder CreateApplicationBuilder() => throw new NotSupportedException();
    }
}
