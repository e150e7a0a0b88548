using BenchmarkDotNet.Attributes;
using Microsoft.IdentityModel.Tokens;

namespace Api.Benchmarks;

/// <summary>One access token through the API's handler: full RS256 validation versus the token caches' hits.</summary>
[MemoryDiagnoser]
public class TokenValidationBenchmarks
{
    private TokenFixture _cold = null!;
    private TokenFixture _cached = null!;
    private string _token = null!;
    private string _badSignature = null!;
    private string _unknownKid = null!;
    private string _manyScopes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _cold = new TokenFixture(cache: false);
        _cached = new TokenFixture(cache: true);
        _token = _cold.Mint("usr_bench");
        var other = _cold.Mint("usr_other");
        _badSignature = string.Concat(_token.AsSpan(0, _token.LastIndexOf('.')), other.AsSpan(other.LastIndexOf('.')));
        // A machine token whose space-separated scope string holds 4500 values (31 KB, inside Kestrel's header limit).
        _manyScopes = _cold.Mint("usr_scopes", claims => claims["scope"] = string.Join(' ', Enumerable.Range(0, 4500).Select(i => i.ToString("x4"))));
        _unknownKid = string.Concat(Base64UrlEncoder.Encode("""{"alg":"RS256","kid":"kid-unknown","typ":"JWT"}"""), _token.AsSpan(_token.IndexOf('.')));
        foreach (var (name, result, expected) in new[]
                 {
                     ("cold", Cold().Result, true), ("cached", Cached().Result, true),
                     ("bad signature", BadSignature().Result, false), ("replayed bad signature", ReplayedBadSignature().Result, false),
                     ("unknown kid", UnknownKid().Result, false), ("4500 scopes", ManyScopes().Result, true),
                 })
        {
            if (result.IsValid != expected)
            {
                throw new InvalidOperationException($"The {name} token validated as {result.IsValid}: {result.Exception?.Message}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cold.Dispose();
        _cached.Dispose();
    }

    [Benchmark(Baseline = true, Description = "full validation (cache off)")]
    public Task<TokenValidationResult> Cold() => _cold.Handler.ValidateTokenAsync(_token, _cold.Parameters);

    [Benchmark(Description = "validated-token cache hit")]
    public Task<TokenValidationResult> Cached() => _cached.Handler.ValidateTokenAsync(_token, _cached.Parameters);

    [Benchmark(Description = "bad signature, known kid, never seen (caches off)")]
    public Task<TokenValidationResult> BadSignature() => _cold.Handler.ValidateTokenAsync(_badSignature, _cold.Parameters);

    [Benchmark(Description = "bad signature, replayed (rejected-token cache hit)")]
    public Task<TokenValidationResult> ReplayedBadSignature() => _cached.Handler.ValidateTokenAsync(_badSignature, _cached.Parameters);

    [Benchmark(Description = "unknown kid (refetch within its cooldown)")]
    public Task<TokenValidationResult> UnknownKid() => _cached.Handler.ValidateTokenAsync(_unknownKid, _cached.Parameters);

    [Benchmark(Description = "full validation, a scope string of 4500 values (cache off)")]
    public Task<TokenValidationResult> ManyScopes() => _cold.Handler.ValidateTokenAsync(_manyScopes, _cold.Parameters);

    [Benchmark(Description = "garbage")]
    public Task<TokenValidationResult> Garbage() => _cached.Handler.ValidateTokenAsync("garbage-not-a-jwt", _cached.Parameters);
}
