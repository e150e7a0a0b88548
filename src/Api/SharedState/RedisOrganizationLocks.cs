using Api.Organizations;
using Api.Scalekit;
using StackExchange.Redis;

namespace Api.SharedState;

/// <summary>
/// The organization lock across replicas: <c>SET NX PX</c> on a per-organization key with a random owner token,
/// released by a script that deletes the key only if the token is still the owner's. Callers on this replica queue
/// in memory first, so only one of them polls Redis. The holder renews its lease every third of it for as long as it
/// holds the lock, so a slow read-modify-write keeps it, while a replica that dies holding it blocks the others for
/// one lease at most. A turn abandoned at the shutdown deadline is not released: its key is kept until the write it
/// left in flight would have timed out, then runs out.
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
    private readonly TimeSpan _abandonedFor;
    private readonly TimeSpan? _turnWait;
    // Unbounded: the wait bound covers this queue and Redis's together.
    private readonly LocalOrganizationLocks _local = new();
    private int _refusals;

    // An abandoned turn's write left before it was abandoned, and no Scalekit call is waited on longer than the total
    // request timeout: kept that long from then (a lease at least), the key outlasts our own wait for that write.
    // A change waits for its turn (here and on the other replicas) as long as one such call, too (TurnWait).
    public RedisOrganizationLocks(RedisConnection redis, IConfiguration configuration)
        : this(redis, DefaultLease, TurnWait.Of(configuration), TurnWait.Of(configuration))
    {
    }

    /// <summary>For tests: a lease short enough to watch it being renewed, and running out.</summary>
    internal RedisOrganizationLocks(RedisConnection redis, TimeSpan lease, TimeSpan? abandonedFor = null, TimeSpan? turnWait = null)
    {
        _redis = redis;
        _lease = lease;
        _abandonedFor = abandonedFor is { } keep && keep > lease ? keep : lease;
        _turnWait = turnWait;
    }

    /// <summary>Times Redis answered that another replica holds a lock (for tests: shows a change queued there).</summary>
    internal int Refusals => Volatile.Read(ref _refusals);

    public ValueTask<IOrganizationTurn> AcquireAsync(string organizationId, CancellationToken cancellationToken) =>
        TurnWait.BoundedAsync(organizationId, _turnWait, cancellationToken, token => WaitForTurnAsync(organizationId, token));

    private async ValueTask<IOrganizationTurn> WaitForTurnAsync(string organizationId, CancellationToken cancellationToken)
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
                    return new Held(_redis, key, owner, _lease, _abandonedFor, local);
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
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            // Run late, the SET would leave the lock held by nobody for a whole lease, blocking every replica's
            // metadata changes to this organization.
            _ = _redis.UndoUnansweredAsync(ReleaseScript, key, owner);
            throw new OrganizationLockUnavailableException(ex);
        }
    }

    private sealed class Held : IOrganizationTurn
    {
        private readonly RedisConnection _redis;
        private readonly RedisKey _key;
        private readonly string _owner;
        private readonly TimeSpan _abandonedFor;
        private readonly IOrganizationTurn _local;
        private readonly CancellationTokenSource _holding = new();
        private readonly Task _renewals;
        private int _ended;

        public Held(RedisConnection redis, RedisKey key, string owner, TimeSpan lease, TimeSpan abandonedFor, IOrganizationTurn local)
        {
            _redis = redis;
            _key = key;
            _owner = owner;
            _abandonedFor = abandonedFor;
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
                    catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
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
            if (!await StopRenewingAsync())
            {
                return;
            }

            try
            {
                var database = await _redis.DatabaseAsync();
                await database.ScriptEvaluateAsync(ReleaseScript, [_key], [_owner]);
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex) || ex is ObjectDisposedException)
            {
                // The change is already made (or, at shutdown, the connection already closed); the lease expires on its
                // own and lets the next writer in.
            }
            finally
            {
                await _local.DisposeAsync();
            }
        }

        public async ValueTask AbandonAsync()
        {
            if (!await StopRenewingAsync())
            {
                return;
            }

            try
            {
                // Never deleted: kept (while still ours) past the longest wait for the write left in flight, then it runs out.
                var database = await _redis.DatabaseAsync();
                await database.ScriptEvaluateAsync(RenewScript, [_key], [_owner, (long)_abandonedFor.TotalMilliseconds]);
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex) || ex is ObjectDisposedException)
            {
                // Redis is away, or the connection is already closing: the last lease still runs its course.
            }
            finally
            {
                await _local.AbandonAsync();
            }
        }

        // False when the turn has already ended (disposed or abandoned): it ends once.
        private async ValueTask<bool> StopRenewingAsync()
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0)
            {
                return false;
            }

            await _holding.CancelAsync();
            await _renewals;
            _holding.Dispose();
            return true;
        }
    }
}
