using Api.Organizations;
using StackExchange.Redis;

namespace Api.SharedState;

/// <summary>
/// The organization lock across replicas: <c>SET NX PX</c> on a per-organization key with a random owner token,
/// released by a script that deletes the key only if the token is still the owner's. Callers on this replica queue
/// in memory first, so only one of them polls Redis. The lease outlives the slowest read-modify-write (two Scalekit
/// calls under their total timeouts, plus a management-token fetch); if a replica dies holding it, the others wait at
/// most that long.
/// </summary>
public sealed class RedisOrganizationLocks(RedisConnection redis) : IOrganizationLocks
{
    private const string Prefix = "orgapi:lock:org:";

    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromMilliseconds(100);

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly LocalOrganizationLocks _local = new();
    private int _refusals;

    /// <summary>Times Redis answered that another replica holds a lock (for tests: shows a change queued there).</summary>
    internal int Refusals => Volatile.Read(ref _refusals);

    public async ValueTask<IAsyncDisposable> AcquireAsync(string organizationId, CancellationToken cancellationToken)
    {
        var local = await _local.AcquireAsync(organizationId, cancellationToken);
        try
        {
            var key = new RedisKey(Prefix + organizationId);
            var owner = Guid.NewGuid().ToString("N");
            var wait = FirstRetry;
            while (true)
            {
                if (await TryTakeAsync(key, owner))
                {
                    return new Held(redis, key, owner, local);
                }

                Interlocked.Increment(ref _refusals);
                await Task.Delay(wait, cancellationToken);
                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, LongestRetry.Ticks));
            }
        }
        catch
        {
            await local.DisposeAsync();
            throw;
        }
    }

    private async Task<bool> TryTakeAsync(RedisKey key, string owner)
    {
        try
        {
            var database = await redis.DatabaseAsync();
            return await database.StringSetAsync(key, owner, Lease, When.NotExists);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new OrganizationLockUnavailableException(ex);
        }
    }

    private sealed class Held(RedisConnection redis, RedisKey key, string owner, IAsyncDisposable local) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                var database = await redis.DatabaseAsync();
                await database.ScriptEvaluateAsync(ReleaseScript, [key], [owner]);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // The change is already made; the lease expires on its own and lets the next writer in.
            }
            finally
            {
                await local.DisposeAsync();
            }
        }
    }
}
