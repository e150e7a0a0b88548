using Microsoft.Extensions.DependencyInjection.Extensions;
using Api.Auth;
using Api.Organizations;
using Microsoft.Extensions.Options;

namespace Api.Infrastructure;

/// <summary>The <c>Caching</c> section. A zero TTL turns a cache off.</summary>
public sealed class CachingOptions
{
    public const string SectionName = "Caching";

    /// <summary>
    /// How long a fully validated access token is remembered (never past its own <c>exp</c>), and how long a token
    /// rejected for good is (see <see cref="RejectedTokenCache"/>).
    /// </summary>
    public TimeSpan ValidatedTokenTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How many validated tokens are remembered at most (and, separately, how many rejected ones); a validated token counts
    /// one entry per started <see cref="ValidatedTokenCache.CharsPerEntry"/> characters.
    /// </summary>
    public int ValidatedTokenMaxEntries { get; set; } = 10_000;

    /// <summary>How long an organization read from Scalekit is served from memory.</summary>
    public TimeSpan OrganizationTtl { get; set; } = TimeSpan.FromSeconds(30);
}

public static class Caching
{
    /// <summary>The validated-token cache (auth) and the coalescing organization read cache, both short-lived and bounded.</summary>
    public static IServiceCollection AddApiCaching(this IServiceCollection services)
    {
        services.AddOptions<CachingOptions>().BindConfiguration(CachingOptions.SectionName)
            .ValidateKeysAreKnown(CachingOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<CachingOptions>, CachingOptionsValidator>();
        services.AddSingleton<ValidatedTokenCache>();
        services.AddSingleton<RejectedTokenCache>();
        services.AddHybridCache();
        services.TryAddSingleton<IOrganizationChanges>(LocalOrganizationChanges.Instance);
        services.AddSingleton<OrganizationCache>();
        return services;
    }
}

internal sealed class CachingOptionsValidator : IValidateOptions<CachingOptions>
{
    // Past this, "now + TTL" can leave DateTimeOffset's range: a TTL of millions of days started, then failed every
    // request (each token refused, each cached read a 500). A day is already far past any token's or read's use.
    internal static readonly TimeSpan LongestTtl = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, CachingOptions options)
    {
        var failures = new List<string>();
        if (options.ValidatedTokenTtl < TimeSpan.Zero || options.ValidatedTokenTtl > LongestTtl)
        {
            failures.Add("Caching:ValidatedTokenTtl must be between 00:00:00 (turns the validated-token cache off) and 1.00:00:00.");
        }

        if (options.ValidatedTokenMaxEntries < 1)
        {
            failures.Add("Caching:ValidatedTokenMaxEntries must be at least 1 (set Caching:ValidatedTokenTtl to 00:00:00 to turn the cache off).");
        }

        if (options.OrganizationTtl < TimeSpan.Zero || options.OrganizationTtl > LongestTtl)
        {
            failures.Add("Caching:OrganizationTtl must be between 00:00:00 (turns the organization cache off) and 1.00:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
