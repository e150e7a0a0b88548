using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Api.Idempotency;
using StackExchange.Redis;

namespace Api.SharedState;

/// <summary>
/// Idempotency records in Redis, so a key claimed on one replica is seen by all. Each operation is one atomic
/// command or script: a claim is <c>SET NX PX</c> (answering the record that won), the claim-checked replace and
/// remove compare the pending record's claim id inside Redis. A claim Redis refuses at its memory limit falls back to
/// reading the key, so a key it holds is still answered.
/// </summary>
public sealed class RedisIdempotencyStore(RedisConnection redis) : IIdempotencyStore
{
    private const string Prefix = "orgapi:idem:";

    private const string AddScript = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
        return redis.call('GET', KEYS[1])
        """;

    private const string ReplaceScript = """
        local current = redis.call('GET', KEYS[1])
        if not current then return 0 end
        local record = cjson.decode(current)
        if record['state'] ~= 'pending' or record['ClaimId'] ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        return 1
        """;

    private const string RemoveScript = """
        local current = redis.call('GET', KEYS[1])
        if not current then return 0 end
        local record = cjson.decode(current)
        if record['state'] ~= 'pending' or record['ClaimId'] ~= ARGV[1] then return 0 end
        return redis.call('DEL', KEYS[1])
        """;

    public async ValueTask<IdempotencyRecord?> TryAddAsync(string key, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        RedisResult held;
        try
        {
            held = await RunAsync(AddScript, key, [Serialize(record), Milliseconds(lifetime)]);
        }
        catch (IdempotencyStoreUnavailableException refused) when (IsOutOfMemory(refused))
        {
            // At its memory limit (noeviction) Redis refuses the claim, a write, so nothing was stored; a key it
            // already holds needs no write to be answered (a replay, a 409 for one in flight), so it is read instead.
            if (await ReadAsync(key) is { } existing)
            {
                return existing;
            }

            throw;
        }
        catch (IdempotencyStoreUnavailableException) when (record is PendingRequest claim)
        {
            // Run late, the claim would meet its caller's retry (409 until its lease ran out, then a takeover that
            // reconciles an attempt that never reached Scalekit). The removal takes only this claim.
            _ = redis.UndoUnansweredAsync(RemoveScript, RedisKeyOf(key), claim.ClaimId);
            throw;
        }

        return held.IsNull ? null : Deserialize((string)held!);
    }

    public async ValueTask<bool> TryReplaceAsync(string key, string claimId, IdempotencyRecord record, TimeSpan lifetime, CancellationToken cancellationToken) =>
        (int)await RunAsync(ReplaceScript, key, [claimId, Serialize(record), Milliseconds(lifetime)]) == 1;

    public async ValueTask<bool> TryRemoveAsync(string key, string claimId, CancellationToken cancellationToken) =>
        (int)await RunAsync(RemoveScript, key, [claimId]) == 1;

    private async Task<IdempotencyRecord?> ReadAsync(string key)
    {
        RedisValue held;
        try
        {
            var database = await redis.DatabaseAsync();
            held = await database.StringGetAsync(RedisKeyOf(key));
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            throw new IdempotencyStoreUnavailableException(ex);
        }

        return held.IsNull ? null : Deserialize(held!);
    }

    // "OOM command not allowed when used memory > 'maxmemory'", refused before the script ran or by its SET.
    private static bool IsOutOfMemory(IdempotencyStoreUnavailableException refused) =>
        refused.InnerException is RedisServerException server && server.Message.Contains("OOM command not allowed", StringComparison.Ordinal);

    private async Task<RedisResult> RunAsync(string script, string key, RedisValue[] arguments)
    {
        try
        {
            var database = await redis.DatabaseAsync();
            return await database.ScriptEvaluateAsync(script, [RedisKeyOf(key)], arguments);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            throw new IdempotencyStoreUnavailableException(ex);
        }
    }

    // The filter's key is already a hash of the caller's id and key, so Redis learns nothing about who retried what.
    // Hashed again all the same: that is the name every earlier version wrote, and a replica that named the record
    // otherwise would miss it, and create again, for a retry during a rolling deploy or within a key's lifetime after.
    private static RedisKey RedisKeyOf(string key) =>
        Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string Serialize(IdempotencyRecord record) =>
        JsonSerializer.Serialize(record, SharedStateJsonContext.Default.IdempotencyRecord);

    private static IdempotencyRecord? Deserialize(string json) =>
        JsonSerializer.Deserialize(json, SharedStateJsonContext.Default.IdempotencyRecord);

    private static long Milliseconds(TimeSpan lifetime) => Math.Max(1, (long)lifetime.TotalMilliseconds);
}
