using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Api.Auth;

/// <summary>
/// Every endpoint that names a policy must have a configured rule: otherwise the first request to it would fail at
/// run time instead of at deployment.
/// </summary>
public static class EndpointPolicyCheck
{
    public static void Verify(IEndpointRouteBuilder app)
    {
        var rules = app.ServiceProvider.GetRequiredService<IOptions<AccessRulesOptions>>().Value;
        var missing = app.DataSources
            .SelectMany(source => source.Endpoints)
            .SelectMany(endpoint => endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>())
            .Select(data => data.Policy)
            .OfType<string>()
            .Where(policy => !rules.Policies.ContainsKey(policy))
            .Distinct(StringComparer.Ordinal)
            .Select(policy => $"{AccessRulesOptions.SectionName}:Policies:{policy} is missing: an endpoint requires that policy.")
            .ToList();

        if (missing.Count > 0)
        {
            throw new OptionsValidationException(AccessRulesOptions.SectionName, typeof(AccessRulesOptions), missing);
        }
    }
}
