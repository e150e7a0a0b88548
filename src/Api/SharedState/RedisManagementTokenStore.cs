using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Api.Scalekit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Api.SharedState;

/// <summary>
/// The management token in Redis, sealed with AES-GCM under a key derived (HKDF) from the client secret. Every
/// replica holds that secret; a Redis reader without it gets ciphertext it cannot use. Redis errors are not fatal:
/// the replica then fetches its own token as if nothing were shared.
/// </summary>
public sealed class RedisManagementTokenStore(RedisConnection redis, IOptions<ScalekitOptions> options, TimeProvider time, ILogger<RedisManagementTokenStore> logger)
    : IManagementTokenStore
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly Lazy<(RedisKey Key, byte[] Secret)> _identity = new(() => Derive(options.Value));

    public async Task<SharedManagementToken?> GetAsync(CancellationToken cancellationToken)
    {
        try
        {
            var value = await (await redis.DatabaseAsync()).StringGetAsync(_identity.Value.Key);
            return value.HasValue ? Open(value!) : null;
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex) || ex is CryptographicException or JsonException or FormatException)
        {
            logger.LogWarning("Shared management token unavailable ({ErrorType}); fetching our own", ex.GetType().Name);
            return null;
        }
    }

    public async Task SetAsync(SharedManagementToken token, CancellationToken cancellationToken)
    {
        var ttl = token.RefreshAt - time.GetUtcNow();
        if (ttl <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await (await redis.DatabaseAsync()).StringSetAsync(_identity.Value.Key, Seal(token), ttl);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            logger.LogWarning("Could not share the management token ({ErrorType})", ex.GetType().Name);
        }
    }

    public async Task RemoveAsync(string rejectedToken, CancellationToken cancellationToken)
    {
        try
        {
            var database = await redis.DatabaseAsync();
            var value = await database.StringGetAsync(_identity.Value.Key);
            if (value.HasValue && Open(value!).Value == rejectedToken)
            {
                // Only the exact sealed value is deleted: a newer token another replica stored meanwhile survives.
                await database.ScriptEvaluateAsync(
                    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
                    [_identity.Value.Key], [value]);
            }
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex) || ex is CryptographicException or JsonException or FormatException)
        {
            logger.LogWarning("Could not drop the shared management token ({ErrorType})", ex.GetType().Name);
        }
    }

    private string Seal(SharedManagementToken token)
    {
        var plaintext = JsonSerializer.SerializeToUtf8Bytes(new SealedToken(token.Value, token.RefreshAt.ToUnixTimeMilliseconds()), SharedStateJsonContext.Default.SealedToken);
        var sealedBytes = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_identity.Value.Secret, TagSize);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize));
        return Convert.ToBase64String(sealedBytes);
    }

    private SharedManagementToken Open(string value)
    {
        var sealedBytes = Convert.FromBase64String(value);
        if (sealedBytes.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("The shared token is too short.");
        }

        var plaintext = new byte[sealedBytes.Length - NonceSize - TagSize];
        using var aes = new AesGcm(_identity.Value.Secret, TagSize);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), plaintext);
        var token = JsonSerializer.Deserialize(plaintext, SharedStateJsonContext.Default.SealedToken)
            ?? throw new JsonException("Empty shared token.");
        return new SharedManagementToken(token.V, DateTimeOffset.FromUnixTimeMilliseconds(token.R));
    }

    // The key names the environment and client without revealing them; the secret never leaves the process.
    private static (RedisKey, byte[]) Derive(ScalekitOptions settings)
    {
        var identity = Encoding.UTF8.GetBytes($"{settings.EnvironmentUrl}|{settings.ClientId}");
        var key = "orgapi:mgmt-token:" + Convert.ToHexStringLower(SHA256.HashData(identity))[..24];
        var secret = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(settings.ClientSecret!), 32, identity,
            "organizations-api/management-token/v1"u8.ToArray());
        return (key, secret);
    }

    internal sealed record SealedToken(string V, long R);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(RedisManagementTokenStore.SealedToken))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Api.Idempotency.IdempotencyRecord))]
internal sealed partial class SharedStateJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
