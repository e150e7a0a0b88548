using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Scalekit.Emulator.OAuth;

/// <summary>
/// The opaque bearer tokens <c>/oauth/token</c> hands out for the management API, and their expiry.
/// Opaque on purpose: a management token must never pass as an access token of the API under test.
/// </summary>
internal sealed class ManagementTokens(EmulatorOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expiries = new(StringComparer.Ordinal);
    private int _issued;

    public int Issued => Volatile.Read(ref _issued);

    public TimeSpan Lifetime => options.ManagementTokenLifetime;

    public string Issue()
    {
        var now = time.GetUtcNow();
        foreach (var (expired, _) in _expiries.Where(pair => pair.Value <= now))
        {
            _expiries.TryRemove(expired, out _);
        }

        var token = "skm_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        _expiries[token] = now + options.ManagementTokenLifetime;
        Interlocked.Increment(ref _issued);
        return token;
    }

    public bool IsValid(string token) => _expiries.TryGetValue(token, out var expiry) && expiry > time.GetUtcNow();

    public void RevokeAll() => _expiries.Clear();
}
