namespace Api.Idempotency;

/// <summary>
/// The in-memory idempotency store holds <see cref="IdempotencyOptions.MaxEntries"/> of live keys: a new key is refused
/// rather than let in by forgetting one whose retry would then run again. <see cref="RetryAfter"/> is when the oldest
/// of them expires.
/// </summary>
public sealed class IdempotencyStoreFullException(TimeSpan retryAfter)
    : Exception("The idempotency store is full.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
