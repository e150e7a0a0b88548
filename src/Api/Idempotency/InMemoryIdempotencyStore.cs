namespace Api.Idempotency;

/// <summary>The single-instance default: records in this process, expired ones swept once a minute.</summary>
public sealed class InMemoryIdempotencyStore(TimeProvider time) : IIdempotencyStore
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;

    public ValueTask<IdempotencyRecord?> TryAddAsync(string key, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            SweepIfDue(now);
            if (_entries.TryGetValue(key, out var held) && held.Expires > now)
            {
                return ValueTask.FromResult<IdempotencyRecord?>(held.Record);
            }

            _entries[key] = new Entry(record, now + lifetime);
            return ValueTask.FromResult<IdempotencyRecord?>(null);
        }
    }

    public ValueTask<bool> TryReplaceAsync(string key, string claimId, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!IsClaimedBy(key, claimId, now))
            {
                return ValueTask.FromResult(false);
            }

            _entries[key] = new Entry(record, now + lifetime);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> TryRemoveAsync(string key, string claimId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(IsClaimedBy(key, claimId, time.GetUtcNow()) && _entries.Remove(key));
        }
    }

    private bool IsClaimedBy(string key, string claimId, DateTimeOffset now) =>
        _entries.TryGetValue(key, out var held)
        && held.Expires > now
        && held.Record is PendingRequest pending
        && pending.ClaimId == claimId;

    private void SweepIfDue(DateTimeOffset now)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + SweepInterval;
        foreach (var key in _entries.Where(entry => entry.Value.Expires <= now).Select(entry => entry.Key).ToList())
        {
            _entries.Remove(key);
        }
    }

    private sealed record Entry(IdempotencyRecord Record, DateTimeOffset Expires);
}
