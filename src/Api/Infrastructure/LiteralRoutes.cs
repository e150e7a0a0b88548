using Microsoft.AspNetCore.Routing.Matching;

namespace Api.Infrastructure;

public static class LiteralRoutes
{
    /// <summary>
    /// A path that a route made only of literals matches (<c>/organizations/current</c>) belongs to that route for
    /// every method. Routing alone lets a parameter route sharing the path (<c>/organizations/{id}</c>) serve the
    /// methods the literal one does not take, so <c>PATCH</c> and <c>DELETE /organizations/current</c> acted on an
    /// organization whose id is "current", and the 405 for the other methods listed the parameter route's methods.
    /// </summary>
    public static IServiceCollection AddLiteralRoutes(this IServiceCollection services)
    {
        services.AddSingleton<MatcherPolicy, LiteralRoutePolicy>();
        return services;
    }

    /// <summary>
    /// Runs before routing's method check (<c>HttpMethodMatcherPolicy</c>, order -1000), so that check, and the 405
    /// with <c>Allow</c> it builds, sees only the literal route's endpoints. A route with no parameter matches every
    /// path that reaches its node, whatever the values, so nothing at request time could have chosen another one.
    /// </summary>
    private sealed class LiteralRoutePolicy : MatcherPolicy, INodeBuilderPolicy
    {
        public override int Order => -1100;

        public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) =>
            endpoints.Any(IsLiteral) && endpoints.Any(HasParameters);

        public IReadOnlyList<PolicyNodeEdge> GetEdges(IReadOnlyList<Endpoint> endpoints) =>
            [new PolicyNodeEdge(true, endpoints.Where(endpoint => !HasParameters(endpoint)).ToList())];

        public PolicyJumpTable BuildJumpTable(int exitDestination, IReadOnlyList<PolicyJumpTableEdge> edges) =>
            new SingleDestination(edges[0].Destination);

        private static bool IsLiteral(Endpoint endpoint) =>
            endpoint is RouteEndpoint { RoutePattern.Parameters.Count: 0 };

        private static bool HasParameters(Endpoint endpoint) =>
            endpoint is RouteEndpoint { RoutePattern.Parameters.Count: > 0 };

        private sealed class SingleDestination(int destination) : PolicyJumpTable
        {
            public override int GetDestination(HttpContext httpContext) => destination;
        }
    }
}
