using Microsoft.Extensions.Options;

namespace Api.Idempotency;

/// <summary>
/// The single-instance default: records in this process, expired ones swept once a minute. Bounded by
/// <see cref="IdempotencyOptions.MaxEntries"/>: a record counts one entry per started <see cref="BytesPerEntry"/> of
/// the response it keeps. When a new key finds no room even after the expired records are dropped, it is refused
/// (<see cref="IdempotencyStoreFullException"/>) rather than pushing out a live record, whose retry would then create
/// again. Keys already held keep working: replays, 409s, 422s and takeovers need no room, and the response of a
/// request already admitted is stored even past the bound (by at most its own size).
/// </summary>
public sealed class InMemoryIdempotencyStore(TimeProvider time, IOptionsMonitor<IdempotencyOptions> options) : IIdempotencyStore
{
    /// <summary>A record counts one entry per started this many bytes of its stored response body.</summary>
    public const int BytesPerEntry = 1024;

    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;
    private long _used;

    // No record expires before this (a lower bound, exact after a sweep): while the store is full and this is ahead,
    // nothing can have expired and a refusal needs no scan.
    private DateTimeOffset _earliestExpiry = DateTimeOffset.MaxValue;

    public ValueTask<IdempotencyRecord?> TryAddAsync(string key, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            SweepIfDue(now);
            if (_entries.TryGetValue(key, out var held))
            {
                if (held.Expires > now)
                {
                    return ValueTask.FromResult<IdempotencyRecord?>(held.Record);
                }

                Remove(key, held);
            }

            var weight = Weight(record);
            if (_used + weight > options.CurrentValue.MaxEntries && !MakeRoom(now, weight))
            {
                throw new IdempotencyStoreFullException(_earliestExpiry - now);
            }

            Set(key, record, now + lifetime);
            return ValueTask.FromResult<IdempotencyRecord?>(null);
        }
    }

    public ValueTask<bool> TryReplaceAsync(string key, string claimId, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!IsClaimedBy(key, claimId, now, out var held))
            {
                return ValueTask.FromResult(false);
            }

            Remove(key, held);
            Set(key, record, now + lifetime);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> TryRemoveAsync(string key, string claimId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!IsClaimedBy(key, claimId, time.GetUtcNow(), out var held))
            {
                return ValueTask.FromResult(false);
            }

            Remove(key, held);
            return ValueTask.FromResult(true);
        }
    }

    private static long Weight(IdempotencyRecord record) =>
        record is StoredResponse stored ? 1 + (stored.Body.Length / BytesPerEntry) : 1;

    private void Set(string key, IdempotencyRecord record, DateTimeOffset expires)
    {
        var entry = new Entry(record, expires, Weight(record));
        _entries[key] = entry;
        _used += entry.Weight;
        if (expires < _earliestExpiry)
        {
            _earliestExpiry = expires;
        }
    }

    private void Remove(string key, Entry held)
    {
        _entries.Remove(key);
        _used -= held.Weight;
    }

    private bool IsClaimedBy(string key, string claimId, DateTimeOffset now, out Entry held) =>
        _entries.TryGetValue(key, out held!)
        && held.Expires > now
        && held.Record is PendingRequest pending
        && pending.ClaimId == claimId;

    // Full: drop what has expired (unless nothing can have yet), then judge again.
    private bool MakeRoom(DateTimeOffset now, long weight)
    {
        if (now >= _earliestExpiry)
        {
            Sweep(now);
        }

        return _used + weight <= options.CurrentValue.MaxEntries;
    }

    private void SweepIfDue(DateTimeOffset now)
    {
        if (now >= _nextSweep)
        {
            Sweep(now);
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        _nextSweep = now + SweepInterval;
        _earliestExpiry = DateTimeOffset.MaxValue;
        foreach (var (key, entry) in _entries.ToList())
        {
            if (entry.Expires <= now)
            {
                Remove(key, entry);
            }
            else if (entry.Expires < _earliestExpiry)
            {
                _earliestExpiry = entry.Expires;
            }
        }
    }

    private sealed record Entry(IdempotencyRecord Record, DateTimeOffset Expires, long Weight);
}
