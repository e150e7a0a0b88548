namespace Api.Organizations;

/// <summary>
/// Lets one request at a time read-modify-write an organization. Scalekit replaces the whole metadata map on update
/// and offers no precondition, so two concurrent key-by-key merges would each write back what they read and one of
/// them would be lost; holding this around the read and the write makes the second merge read the first's result.
/// </summary>
public interface IOrganizationLocks
{
    /// <summary>Waits until the caller alone may change <paramref name="organizationId"/>; dispose the result to let the next in.</summary>
    ValueTask<IOrganizationTurn> AcquireAsync(string organizationId, CancellationToken cancellationToken);
}

/// <summary>A turn held on one organization: disposing it lets the next change in.</summary>
public interface IOrganizationTurn : IAsyncDisposable
{
    /// <summary>
    /// Ends the turn without letting the next change in, for a holder stopped while its write may still land at
    /// Scalekit (the host's shutdown deadline): the next change must not read the map before that write can no longer
    /// replace it. With Redis the lock is kept until the write would have timed out, then runs out; in this process
    /// the turn is never handed on (the process is exiting). Disposing afterwards does nothing.
    /// </summary>
    ValueTask AbandonAsync();
}

/// <summary>
/// One replica: a queue per organization in this process, dropped when nobody holds or waits for it. A change waits for
/// its turn at most <paramref name="turnWait"/> (none: until its caller gives up), then is refused (<see cref="OrganizationBusyException"/>).
/// </summary>
public sealed class LocalOrganizationLocks(TimeSpan? turnWait = null) : IOrganizationLocks
{
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    /// <summary>Organizations with a holder or a waiter (for tests: the table must not keep idle entries).</summary>
    internal int Count
    {
        get
        {
            lock (_gates)
            {
                return _gates.Count;
            }
        }
    }

    /// <summary>Holders plus waiters for one organization (for tests: shows a second change queued behind the first).</summary>
    internal int UsersOf(string organizationId)
    {
        lock (_gates)
        {
            return _gates.TryGetValue(organizationId, out var gate) ? gate.Users : 0;
        }
    }

    public ValueTask<IOrganizationTurn> AcquireAsync(string organizationId, CancellationToken cancellationToken) =>
        TurnWait.BoundedAsync(organizationId, turnWait, cancellationToken, token => WaitForTurnAsync(organizationId, token));

    private async ValueTask<IOrganizationTurn> WaitForTurnAsync(string organizationId, CancellationToken cancellationToken)
    {
        Gate gate;
        lock (_gates)
        {
            if (!_gates.TryGetValue(organizationId, out gate!))
            {
                _gates[organizationId] = gate = new Gate();
            }

            gate.Users++;
        }

        try
        {
            await gate.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(organizationId, gate);
            throw;
        }

        return new Held(this, organizationId, gate);
    }

    private void Leave(string organizationId, Gate gate)
    {
        lock (_gates)
        {
            if (--gate.Users == 0)
            {
                _gates.Remove(organizationId);
            }
        }
    }

    private sealed class Gate
    {
        public readonly SemaphoreSlim Semaphore = new(1, 1);
        public int Users;
    }

    private sealed class Held(LocalOrganizationLocks owner, string organizationId, Gate gate) : IOrganizationTurn
    {
        private int _ended;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                gate.Semaphore.Release();
                owner.Leave(organizationId, gate);
            }

            return ValueTask.CompletedTask;
        }

        // The gate stays taken and in the table (leaving it would let a new gate, and the next change, in at once).
        public ValueTask AbandonAsync()
        {
            Interlocked.Exchange(ref _ended, 1);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// How long a change waits for its turn: as long as one Scalekit call may take (the management API's
/// <c>TotalRequestTimeout</c>, 15 s as shipped). A holder is bounded by its own calls (a read and a write), so a longer
/// wait means changes are queued ahead faster than Scalekit answers them; the caller is told so instead of waiting on.
/// </summary>
internal static class TurnWait
{
    public static TimeSpan Of(IConfiguration configuration) =>
        Scalekit.ScalekitServiceCollectionExtensions.ApiResilience(configuration).TotalRequestTimeout.Timeout;

    public static async ValueTask<IOrganizationTurn> BoundedAsync(
        string organizationId, TimeSpan? wait, CancellationToken cancellationToken, Func<CancellationToken, ValueTask<IOrganizationTurn>> acquire)
    {
        if (wait is not { } longest)
        {
            return await acquire(cancellationToken);
        }

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(longest);
        try
        {
            return await acquire(bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OrganizationBusyException(organizationId, longest);
        }
    }
}

/// <summary>Other changes held the organization's turn for as long as a change may wait for it; this one did nothing.</summary>
public sealed class OrganizationBusyException(string organizationId, TimeSpan waited)
    : Exception("Other changes to the organization held its turn for as long as a change may wait.")
{
    public string OrganizationId { get; } = organizationId;

    public TimeSpan Waited { get; } = waited;
}

/// <summary>The lock could not be taken because the store shared by the replicas is unreachable.</summary>
public sealed class OrganizationLockUnavailableException(Exception inner)
    : Exception("The shared lock store is unavailable.", inner);

/// <summary>
/// The host's shutdown deadline stopped a metadata change after its write left for Scalekit: the write may still land,
/// so the change's outcome is unknown, and its turn was abandoned rather than handed on.
/// </summary>
public sealed class MetadataChangeAbandonedException(string organizationId, Exception inner)
    : Exception("The shutdown deadline passed before Scalekit answered a metadata change; it may still be applied.", inner)
{
    public string OrganizationId { get; } = organizationId;
}
