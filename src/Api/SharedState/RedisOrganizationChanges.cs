using System.Runtime.CompilerServices;
using Api.Organizations;
using StackExchange.Redis;

namespace Api.SharedState;

/// <summary>
/// Organization changes over Redis pub/sub: a replica that updates or deletes an organization publishes its id, and
/// every replica (itself included) drops its cached copy. A change made while Redis is down cannot be announced;
/// every replica drops all its copies when its connection comes back (see <see cref="OrganizationChangeSubscription"/>),
/// and no copy outlives <c>Caching:OrganizationTtl</c> anyway.
/// </summary>
public sealed class RedisOrganizationChanges(RedisConnection redis, ILogger<RedisOrganizationChanges> logger) : IOrganizationChanges
{
    // A property, not a static field of Redis's struct type: loading this class (the service registration names it)
    // must not load the Redis client when no Redis is configured.
    public static RedisChannel Channel => RedisChannel.Literal("orgapi:organization-changed");

    public async ValueTask PublishAsync(string organizationId, CancellationToken cancellationToken)
    {
        try
        {
            await (await redis.SubscriberAsync()).PublishAsync(Channel, organizationId);
        }
        // ObjectDisposedException: a change that ended as the host disposed the connection at shutdown.
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex) || ex is ObjectDisposedException)
        {
            logger.LogWarning("Could not tell other replicas that an organization changed ({ErrorType})", ex.GetType().Name);
        }
    }
}

/// <summary>Listens for other replicas' changes and drops the local copies; keeps trying while Redis is away.</summary>
internal sealed class OrganizationChangeSubscription(IServiceProvider services, ILogger<OrganizationChangeSubscription> logger) : BackgroundService
{
    // Without Redis there is nothing to listen to, and the Redis client is never even loaded: the code that names
    // its types is compiled only when it first runs (not inlined, so the optimizing recompile keeps it apart).
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        SharedStateSetup.ConnectionString(services) is null ? Task.CompletedTask : SubscribeAsync(stoppingToken);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task SubscribeAsync(CancellationToken stoppingToken)
    {
        var cache = services.GetRequiredService<OrganizationCache>();
        var redis = services.GetRequiredService<RedisConnection>();
        ISubscriber? subscriber = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                subscriber ??= await WatchReconnectsAsync(redis, cache);
                // Once registered, StackExchange.Redis re-subscribes by itself after every reconnect.
                await subscriber.SubscribeAsync(RedisOrganizationChanges.Channel,
                    (channel, id) => _ = cache.ForgetLocallyAsync(id.ToString(), CancellationToken.None).AsTask());
                return;
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
            {
                logger.LogWarning("Cannot subscribe to organization changes yet ({ErrorType}); retrying", ex.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
    }

    // What was published while this replica was cut off is gone, so each reconnect drops every local copy instead.
    private async Task<ISubscriber> WatchReconnectsAsync(RedisConnection redis, OrganizationCache cache)
    {
        var subscriber = await redis.SubscriberAsync();
        subscriber.Multiplexer.ConnectionRestored += (_, restored) =>
        {
            cache.ForgetAllLocally();
            logger.LogInformation("Redis connection restored ({ConnectionType}); dropped every cached organization, since changes may have been missed",
                restored.ConnectionType);
        };
        return subscriber;
    }
}
