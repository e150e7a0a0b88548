using System.Text.Json.Serialization;

namespace Api.Idempotency;

/// <summary>
/// Where idempotency records live. Every operation is atomic on its own, so one implementation can be in memory and
/// another distributed: <see cref="TryAddAsync"/> maps to Redis <c>SET key value NX PX ttl</c> (plus a <c>GET</c> of
/// the record that won), the two claim-checked operations to a short compare-and-set script.
/// </summary>
public interface IIdempotencyStore
{
    /// <summary>Stores <paramref name="record"/> unless <paramref name="key"/> holds an unexpired record, which is returned instead.</summary>
    ValueTask<IdempotencyRecord?> TryAddAsync(string key, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>Replaces the record only while it is the <see cref="PendingRequest"/> with <paramref name="claimId"/>.</summary>
    ValueTask<bool> TryReplaceAsync(string key, string claimId, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>Removes the record only while it is the <see cref="PendingRequest"/> with <paramref name="claimId"/>.</summary>
    ValueTask<bool> TryRemoveAsync(string key, string claimId, CancellationToken cancellationToken);
}

/// <summary>What is known about one idempotency key; <see cref="Fingerprint"/> identifies the request body it was first used with.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "state")]
[JsonDerivedType(typeof(PendingRequest), "pending")]
[JsonDerivedType(typeof(StoredResponse), "completed")]
public abstract record IdempotencyRecord(string Fingerprint);

/// <summary>
/// A request holding the key. Past <paramref name="LeaseExpires"/> nobody is working on it any more (its outcome was
/// unknown, or its process died), and the next request with the key may take it over. <paramref name="FirstAttemptAt"/>
/// is when the key's first attempt began, kept across takeovers: whatever that attempt may have created was created
/// after it (null in records written before it was kept).
/// </summary>
public sealed record PendingRequest(string Fingerprint, string ClaimId, DateTimeOffset LeaseExpires, DateTimeOffset? FirstAttemptAt = null)
    : IdempotencyRecord(Fingerprint);

/// <summary>The response the first request got, replayed to every retry.</summary>
public sealed record StoredResponse(string Fingerprint, int StatusCode, string? Location, string? ContentType, byte[] Body)
    : IdempotencyRecord(Fingerprint);
