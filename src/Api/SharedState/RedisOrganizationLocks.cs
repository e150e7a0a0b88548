using Api.Organizations;
using StackExchange.Redis;

namespace Api.SharedState;

/// <summary>
/// The organization lock across replicas: <c>SET NX PX</c> on a per-organization key with a random owner token,
/// released by a script that deletes the key only if the token is still the owner's. Callers on this replica queue
/// in memory first, so only one of them polls Redis. The holder renews its lease every third of it for as long as it
/// holds the lock, so a slow read-modify-write keeps it, while a replica that dies holding it blocks the others for
/// one lease at most.
/// </summary>
public sealed class RedisOrganizationLocks : IOrganizationLocks
{
    private const string Prefix = "orgapi:lock:org:";

    private static readonly TimeSpan DefaultLease = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromMilliseconds(100);

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    private readonly RedisConnection _redis;
    private readonly TimeSpan _lease;
    private readonly LocalOrganizationLocks _local = new();
    private int _refusals;

    public RedisOrganizationLocks(RedisConnection redis)
        : this(redis, DefaultLease)
    {
    }

    /// <summary>For tests: a lease short enough to watch it being renewed, and running out.</summary>
    internal RedisOrganizationLocks(RedisConnection redis, TimeSpan lease)
    {
        _redis = redis;
        _lease = lease;
    }

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
                    return new Held(_redis, key, owner, _lease, local);
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
            var database = await _redis.DatabaseAsync();
            return await database.StringSetAsync(key, owner, _lease, When.NotExists);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new OrganizationLockUnavailableException(ex);
        }
    }

    private sealed class Held : IAsyncDisposable
    {
        private readonly RedisConnection _redis;
        private readonly RedisKey _key;
        private readonly string _owner;
        private readonly IAsyncDisposable _local;
        private readonly CancellationTokenSource _holding = new();
        private readonly Task _renewals;

        public Held(RedisConnection redis, RedisKey key, string owner, TimeSpan lease, IAsyncDisposable local)
        {
            _redis = redis;
            _key = key;
            _owner = owner;
            _local = local;
            _renewals = RenewAsync(lease, _holding.Token);
        }

        private async Task RenewAsync(TimeSpan lease, CancellationToken holding)
        {
            using var timer = new PeriodicTimer(lease / 3);
            var milliseconds = (long)lease.TotalMilliseconds;
            try
            {
                while (await timer.WaitForNextTickAsync(holding))
                {
                    try
                    {
                        var database = await _redis.DatabaseAsync();
                        if ((long)await database.ScriptEvaluateAsync(RenewScript, [_key], [_owner, milliseconds]) == 0)
                        {
                            return; // the lease ran out and the key is gone or someone else's: nothing left to renew
                        }
                    }
                    catch (Exception ex) when (ex is RedisException or TimeoutException)
                    {
                        // Redis is away: try again next tick; if it stays away the lease runs out on its own.
                    }
                    catch (ObjectDisposedException)
                    {
                        return; // the process is shutting down; the lease runs out on its own
                    }
                }
            }
            catch (OperationCanceledException) when (holding.IsCancellationRequested)
            {
                // Released.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _holding.CancelAsync();
            await _renewals;
            _holding.Dispose();
            try
            {
                var database = await _redis.DatabaseAsync();
                await database.ScriptEvaluateAsync(ReleaseScript, [_key], [_owner]);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // The change is already made; the lease expires on its own and lets the next writer in.
            }
            finally
            {
                await _local.DisposeAsync();
            }
        }
    }
}
