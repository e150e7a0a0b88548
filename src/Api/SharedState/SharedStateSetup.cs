using System.Runtime.CompilerServices;
using Api.Idempotency;
using Api.Infrastructure;
using Api.Organizations;
using Api.Scalekit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Api.SharedState;

public static class SharedStateSetup
{
    public const string ConnectionStringName = "Redis";

    public const string ConnectionStringsSection = "ConnectionStrings";

    /// <summary>
    /// State that must hold for every replica. With <c>ConnectionStrings:Redis</c> it lives in Redis; without it,
    /// in this process (the zero-setup default). Decided when first needed, so test and env overrides apply.
    /// </summary>
    public static IServiceCollection AddSharedState(this IServiceCollection services)
    {
        // A connection string Redis's client cannot parse would otherwise surface only when Redis is first used:
        // as a stack trace from the change subscription, ending the process with exit code 0.
        services.AddOptions<SharedStateOptions>()
            .Configure<IConfiguration>((options, configuration) => options.Redis = configuration.GetConnectionString(ConnectionStringName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SharedStateOptions>, SharedStateOptionsValidator>();
        services.AddOwnSection(ConnectionStringsSection);
        services.AddSingleton(sp => new RedisConnection(ConnectionString(sp)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not set.")));
        services.Replace(ServiceDescriptor.Singleton<IManagementTokenStore>(sp => ConnectionString(sp) is null
            ? LocalManagementTokenStore.Instance
            : ActivatorUtilities.CreateInstance<RedisManagementTokenStore>(sp)));
        services.Replace(ServiceDescriptor.Singleton<IIdempotencyStore>(sp => ConnectionString(sp) is null
            ? ActivatorUtilities.CreateInstance<InMemoryIdempotencyStore>(sp)
            : ActivatorUtilities.CreateInstance<RedisIdempotencyStore>(sp)));
        services.Replace(ServiceDescriptor.Singleton<IOrganizationChanges>(sp => ConnectionString(sp) is null
            ? LocalOrganizationChanges.Instance
            : ActivatorUtilities.CreateInstance<RedisOrganizationChanges>(sp)));
        services.AddSingleton<IOrganizationLocks>(sp => ConnectionString(sp) is null
            ? new LocalOrganizationLocks(TurnWait.Of(sp.GetRequiredService<IConfiguration>()))
            : ActivatorUtilities.CreateInstance<RedisOrganizationLocks>(sp));
        services.AddHostedService<OrganizationChangeSubscription>();
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", failureStatus: HealthStatus.Degraded, tags: ["ready"]);
        return services;
    }

    public static string? ConnectionString(IServiceProvider services) =>
        services.GetRequiredService<IConfiguration>().GetConnectionString(ConnectionStringName) is { Length: > 0 } value ? value : null;
}

/// <summary>The Redis connection string, read for its startup check only (services read it when first needed).</summary>
public sealed class SharedStateOptions
{
    public string? Redis { get; set; }
}

internal sealed class SharedStateOptionsValidator(IConfiguration configuration) : IValidateOptions<SharedStateOptions>
{
    private const string Key = $"{SharedStateSetup.ConnectionStringsSection}:{SharedStateSetup.ConnectionStringName}";

    public ValidateOptionsResult Validate(string? name, SharedStateOptions options)
    {
        var failures = Misnamed(string.IsNullOrEmpty(options.Redis)).ToList();
        if (!string.IsNullOrEmpty(options.Redis) && Parse(options.Redis) is { Failed: true } unparsable)
        {
            failures.AddRange(unparsable.Failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // ConnectionStrings__Rdis left every replica on its own in-memory state (idempotency keys, caches), silently: in a
    // scaled-out deployment, duplicate creates. Platforms fill ConnectionStrings with names of their own
    // (DefaultConnection), so only a near miss of Redis is refused, and only while Redis itself is not set. A key under
    // Redis (ConnectionStrings__Redis__Host) left it unset too.
    private IEnumerable<string> Misnamed(bool redisUnset)
    {
        var section = configuration.GetSection(SharedStateSetup.ConnectionStringsSection);
        var misspelled = redisUnset
            ? section.GetChildren()
                .Where(child => KnownSettings.NameClosestTo(child.Key, [SharedStateSetup.ConnectionStringName]) is not null)
                .Select(child => $"{child.Path} is not a connection string this API reads: did you mean {Key} (env ConnectionStrings__{SharedStateSetup.ConnectionStringName})?")
            : [];
        var nested = section.GetSection(SharedStateSetup.ConnectionStringName).GetChildren()
            .Select(child => $"{child.Path} is not a setting of this API: {Key} is a single value, a StackExchange.Redis connection string such as redis:6379,password=...,ssl=true.");
        return misspelled.Concat(nested);
    }

    // The Redis client is loaded only when there is a connection string to parse. The failure names the option but
    // never the string or the value: it may hold the Redis password.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ValidateOptionsResult Parse(string connectionString)
    {
        try
        {
            // Parse accepts a string that names no server ("password=...", ",,,"); connecting to it then threw from a
            // background service, after the API had started listening.
            return StackExchange.Redis.ConfigurationOptions.Parse(connectionString).EndPoints.Count > 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(
                    $"ConnectionStrings:{SharedStateSetup.ConnectionStringName} (env ConnectionStrings__{SharedStateSetup.ConnectionStringName}) names no Redis server: start it with host:port, e.g. redis:6379,password=...,ssl=true.");
        }
        catch (ArgumentException ex)
        {
            var option = string.IsNullOrEmpty(ex.ParamName) ? "" : $" (its '{ex.ParamName}' option is unknown or has an invalid value)";
            return ValidateOptionsResult.Fail(
                $"ConnectionStrings:{SharedStateSetup.ConnectionStringName} (env ConnectionStrings__{SharedStateSetup.ConnectionStringName}) is not a valid Redis connection string{option}, e.g. redis:6379,password=...,ssl=true.");
        }
    }
}

/// <summary>Redis down is a degradation, not an outage: reads and un-keyed creates still work.</summary>
internal sealed class RedisHealthCheck(IServiceProvider services) : IHealthCheck
{
    private static readonly Task<HealthCheckResult> InMemory =
        Task.FromResult(HealthCheckResult.Healthy("Shared state is in memory (no ConnectionStrings:Redis)."));

    // As with the subscription, the Redis client is loaded only when there is a Redis to ping.
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        SharedStateSetup.ConnectionString(services) is null ? InMemory : PingAsync(context);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task<HealthCheckResult> PingAsync(HealthCheckContext context)
    {
        var redis = services.GetRequiredService<RedisConnection>();
        try
        {
            // One round trip that names the database (PING does not), so a defaultDatabase the server lacks fails here
            // as an unreachable server does.
            var database = await redis.DatabaseAsync();
            await database.KeyExistsAsync("orgapi:ready-probe");
            return HealthCheckResult.Healthy("Redis reachable.");
        }
        catch (StackExchange.Redis.RedisCommandException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus,
                $"Redis refuses this API's commands (check the database in ConnectionStrings:{SharedStateSetup.ConnectionStringName}): idempotent creates and metadata changes answer 503; reads and other writes work.");
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            return new HealthCheckResult(context.Registration.FailureStatus,
                "Redis unreachable: idempotent creates and metadata changes answer 503 until it is back; reads and other writes work.");
        }
    }
}
