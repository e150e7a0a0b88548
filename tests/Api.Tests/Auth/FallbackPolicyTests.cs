using System.Security.Claims;
using Api.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Api.Tests.Auth;

public sealed class FallbackPolicyTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;

    public FallbackPolicyTests(ApiFixture api) => _api = api;

    [Fact]
    public void EveryMappedEndpointNamesAPolicyOrIsExplicitlyAnonymous()
    {
        var endpoints = _api.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.NotEmpty(endpoints);
        foreach (var endpoint in endpoints)
        {
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).OfType<string>().ToList();
            Assert.True(anonymous || policies.Count > 0, $"{endpoint.DisplayName} has no explicit policy");
        }
    }

    [Fact]
    public void EveryOrganizationsEndpointNamesExactlyOneConfiguredPolicyAndOnlyHealthAndOpenApiAreAnonymous()
    {
        var rules = _api.Factory.Services.GetRequiredService<IOptions<AccessRulesOptions>>().Value;
        var endpoints = _api.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

        var anonymous = endpoints.Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is not null).Select(e => e.RoutePattern.RawText).Order().ToList();
        Assert.Equal(["/health/live", "/health/ready", "/openapi/{documentName}.json"], anonymous);

        var organizations = endpoints.Where(e => e.RoutePattern.RawText!.StartsWith("/organizations", StringComparison.Ordinal)).ToList();
        Assert.Equal(9, organizations.Count);
        foreach (var endpoint in organizations)
        {
            var policy = Assert.Single(endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>()).Policy;
            Assert.True(policy is not null && rules.Policies.ContainsKey(policy), $"{endpoint.DisplayName} names policy '{policy}' without a configured rule");
        }

        var policies = organizations.Select(e => e.Metadata.GetRequiredMetadata<IAuthorizeData>().Policy).ToList();
        Assert.Equal(policies.Count, policies.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task TheFallbackPolicyDeniesAnApplicationRouteWithoutAPolicyEvenToAnAuthenticatedCaller()
    {
        var authorization = _api.Factory.Services.GetRequiredService<IAuthorizationService>();
        var policy = (await _api.Factory.Services.GetRequiredService<IAuthorizationPolicyProvider>().GetFallbackPolicyAsync())!;
        var http = new DefaultHttpContext();
        http.SetEndpoint(new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/unlabelled"), 0, EndpointMetadataCollection.Empty, "unlabelled"));
        var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "usr_1"), new Claim("permissions", "organizations:read_all")], "Bearer"));

        var result = await authorization.AuthorizeAsync(user, http, policy);

        Assert.False(result.Succeeded);
    }
}
