using Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace Api.Auth;

/// <summary>
/// Every endpoint that names a policy must have a configured rule, and a rule asking for the same organization must
/// sit on an endpoint that knows its organization: otherwise the mistake would show at run time (every request
/// failing, or a check that can never pass) instead of at deployment.
/// </summary>
public static class EndpointPolicyCheck
{
    public static void Verify(IEndpointRouteBuilder app)
    {
        var rules = app.ServiceProvider.GetRequiredService<IOptions<AccessRulesOptions>>().Value;
        var endpoints = app.DataSources.SelectMany(source => source.Endpoints).ToList();
        var required = endpoints.SelectMany(PoliciesOf).Distinct(StringComparer.Ordinal).ToList();
        var failures = required
            .Where(policy => !rules.Policies.ContainsKey(policy))
            .Select(policy => $"{AccessRulesOptions.SectionName}:Policies:{policy} is missing: an endpoint requires that policy.")
            .Concat(rules.Policies.Keys.Where(policy => !required.Contains(policy, StringComparer.Ordinal)).Select(policy => Unused(policy, required)))
            .Concat(endpoints.OfType<RouteEndpoint>().SelectMany(endpoint => SameOrganizationWithoutOrganization(endpoint, rules)))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(AccessRulesOptions.SectionName, typeof(AccessRulesOptions), failures);
        }
    }

    private static IEnumerable<string> PoliciesOf(Endpoint endpoint) => Policies.In(endpoint.Metadata);

    // A rule no endpoint asks for is a misspelled one (Authorization__Policies__ReadOrganisation__...): the rule the
    // operator meant to change kept its value from appsettings.json, silently.
    private static string Unused(string policy, IReadOnlyCollection<string> required)
    {
        var key = $"{AccessRulesOptions.SectionName}:Policies:";
        return KnownSettings.ClosestTo(policy, required) is { } meant
            ? $"{key}{policy} is not the policy of any endpoint: did you mean {key}{meant}?"
            : $"{key}{policy} is not the policy of any endpoint (they are {string.Join(", ", required)}; see README.md).";
    }

    private static IEnumerable<string> SameOrganizationWithoutOrganization(RouteEndpoint endpoint, AccessRulesOptions rules)
    {
        var scope = endpoint.Metadata.GetMetadata<OrganizationScopeMetadata>()?.Scope ?? OrganizationScope.RouteId;
        if (scope != OrganizationScope.RouteId || endpoint.RoutePattern.GetParameter(AccessRuleRequirement.OrganizationRouteValue) is not null)
        {
            return [];
        }

        return PoliciesOf(endpoint)
            .Where(rules.Policies.ContainsKey)
            .SelectMany(policy => rules.Policies[policy].AnyOf
                .Select((alternative, index) => (alternative, index))
                .Where(pair => pair.alternative.SameOrganization)
                .Select(pair => $"{AccessRulesOptions.SectionName}:Policies:{policy}:AnyOf:{pair.index}:SameOrganization cannot be checked on "
                    + $"'{endpoint.RoutePattern.RawText}': that route names no organization."));
    }
}
