using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Api.Auth;

/// <summary>
/// Refuses to start when an endpoint names a policy that has no configured rule: otherwise the first request to it
/// would fail at run time instead of at deployment.
/// </summary>
internal sealed class EndpointPolicyCheck(EndpointDataSource endpoints, IOptions<AccessRulesOptions> rules) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var missing = endpoints.Endpoints
            .SelectMany(endpoint => endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>())
            .Select(data => data.Policy)
            .OfType<string>()
            .Where(policy => !rules.Value.Policies.ContainsKey(policy))
            .Distinct(StringComparer.Ordinal)
            .Select(policy => $"{AccessRulesOptions.SectionName}:Policies:{policy} is missing: an endpoint requires that policy.")
            .ToList();

        if (missing.Count > 0)
        {
            throw new OptionsValidationException(AccessRulesOptions.SectionName, typeof(AccessRulesOptions), missing);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
