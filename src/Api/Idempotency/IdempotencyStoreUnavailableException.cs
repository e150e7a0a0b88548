namespace Api.Idempotency;

/// <summary>The store behind <c>Idempotency-Key</c> cannot be reached: no exactly-once guarantee can be given now.</summary>
public sealed class IdempotencyStoreUnavailableException(Exception inner)
    : Exception("The idempotency store is unavailable.", inner);
