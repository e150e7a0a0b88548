using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;

namespace Api.Auth;

public static class AuthorizationSetup
{
    /// <summary>Named policies built from the configured access rules; anything without a policy is denied.</summary>
    public static IServiceCollection AddApiAuthorization(this IServiceCollection services)
    {
        services.AddOptions<AccessRulesOptions>().BindConfiguration(AccessRulesOptions.SectionName)
            .ValidateKeysAreKnown(AccessRulesOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccessRulesOptions>, AccessRulesValidator>();
        services.AddSingleton<IAuthorizationHandler, AccessRuleHandler>();
        services.AddSingleton<IAuthorizationHandler, UnlabelledEndpointHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AccessResultHandler>();

        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<IOptions<AccessRulesOptions>>(AddPolicies);
        return services;
    }

    private static void AddPolicies(AuthorizationOptions authorization, IOptions<AccessRulesOptions> rules)
    {
        foreach (var (name, rule) in rules.Value.Policies)
        {
            authorization.AddPolicy(name, policy => policy
                .RequireAuthenticatedUser()
                .AddRequirements(new AccessRuleRequirement(name, rule)));
        }

        // Closed by default: an endpoint that names no policy (and is not explicitly anonymous) is never served.
        authorization.FallbackPolicy = new AuthorizationPolicyBuilder()
            .AddRequirements(new UnlabelledEndpointRequirement())
            .Build();
    }
}

// The lists are also checked for a single value (Authorization__Policies__X__AnyOf__0__Grants=...), which the binder
// ignores: the rule from appsettings.json would apply, silently, instead of the one the operator meant.
internal sealed class AccessRulesValidator(IConfiguration configuration) : IValidateOptions<AccessRulesOptions>
{
    public ValidateOptionsResult Validate(string? name, AccessRulesOptions options)
    {
        var failures = new List<string>();
        foreach (var (policy, rule) in options.Policies)
        {
            var key = $"{AccessRulesOptions.SectionName}:Policies:{policy}";
            string[] lists = [$"{key}:AnyOf", .. Enumerable.Range(0, rule.AnyOf.Count).SelectMany(i => new[] { $"{key}:AnyOf:{i}:Grants", $"{key}:AnyOf:{i}:Roles" })];
            failures.AddRange(lists.Select(list => ListSettings.SingleValueFailure(configuration, list)).OfType<string>());
            var unreadable = UnreadableSameOrganization(key).ToList();
            if (unreadable.Count > 0)
            {
                // The alternatives left are not the ones configured: checking them would blame the wrong key.
                failures.AddRange(unreadable);
                continue;
            }

            if (rule.AnyOf.Count == 0)
            {
                failures.Add($"{key}:AnyOf needs at least one alternative.");
            }

            for (var i = 0; i < rule.AnyOf.Count; i++)
            {
                var alternative = rule.AnyOf[i];
                if (alternative.Grants.Count == 0 && alternative.Roles.Count == 0)
                {
                    failures.Add($"{key}:AnyOf:{i} references nothing: give it Grants or Roles.");
                }

                if (alternative.Grants.Any(string.IsNullOrWhiteSpace) || alternative.Roles.Any(string.IsNullOrWhiteSpace))
                {
                    failures.Add($"{key}:AnyOf:{i} has an empty grant or role name.");
                }

                // Compared exactly with the token's: " organizations:read" is met by no token, and the rule denies every caller.
                failures.AddRange(Padded($"{key}:AnyOf:{i}:Grants", alternative.Grants).Concat(Padded($"{key}:AnyOf:{i}:Roles", alternative.Roles)));
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // The binder drops a list entry holding a value it cannot convert (SameOrganization=yes, or empty), silently: the
    // whole alternative vanished, and with it the access it granted (or the policy's only rule).
    private IEnumerable<string> UnreadableSameOrganization(string key) =>
        configuration.GetSection($"{key}:AnyOf").GetChildren()
            .Where(alternative => alternative["SameOrganization"] is { } value && !bool.TryParse(value, out _))
            .Select(alternative => $"{key}:AnyOf:{alternative.Key}:SameOrganization must be true or false.");

    private static IEnumerable<string> Padded(string list, List<string> names) =>
        names.Select((name, index) => string.IsNullOrWhiteSpace(name) ? null : ScalekitOptionsValidator.WhitespaceRule(name) is { } problem ? $"{list}:{index} {problem}" : null)
            .OfType<string>();
}
