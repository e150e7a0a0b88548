using System.Net;
using System.Security.Cryptography;
using System.Text;
using Api.Auth;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Api.Benchmarks;

/// <summary>The API's token handler and validation parameters, with a key store loaded from an in-memory JWKS.</summary>
internal sealed class TokenFixture : IDisposable
{
    public const string Issuer = "https://bench.scalekit.dev";
    public const string Audience = "skc_bench_app";

    // One signing key for every fixture, so a token minted by one validates with another.
    private static readonly RSA Rsa = RSA.Create(2048);

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public TokenFixture(bool cache)
    {
        var key = new RsaSecurityKey(Rsa) { KeyId = "kid-bench" };
        var publicKey = Rsa.ExportParameters(false);
        var jwks = $$"""{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"kid-bench","n":"{{Base64UrlEncoder.Encode(publicKey.Modulus)}}","e":"{{Base64UrlEncoder.Encode(publicKey.Exponent)}}"}]}""";
        var scalekit = new ScalekitOptions
        {
            EnvironmentUrl = Issuer,
            ClientId = "skc_bench",
            ClientSecret = "unused",
            Audiences = [Audience],
        };
        var store = new SigningKeyStore(new JwksFactory(jwks),
            new StaticMonitor<ScalekitOptions>(scalekit), TimeProvider.System,
            new ApiMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()), NullLogger<SigningKeyStore>.Instance);
        if (store.RefreshAsync().AsTask().GetAwaiter().GetResult() is null)
        {
            throw new InvalidOperationException("The in-memory JWKS did not load.");
        }

        var caching = new CachingOptions { ValidatedTokenTtl = cache ? TimeSpan.FromMinutes(5) : TimeSpan.Zero };
        var meters = _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        Cache = new ValidatedTokenCache(Options.Create(caching), TimeProvider.System, meters);
        Rejected = new RejectedTokenCache(Options.Create(caching), TimeProvider.System, meters);
        Handler = new ScalekitAccessTokenHandler(store, Cache, Rejected, TimeProvider.System, new Microsoft.AspNetCore.Http.HttpContextAccessor());
        var bearer = new JwtBearerOptions();
        AuthenticationSetup.Configure(bearer, Options.Create(scalekit), store, Handler);
        Parameters = bearer.TokenValidationParameters;
        SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256);
    }

    public ScalekitAccessTokenHandler Handler { get; }

    public ValidatedTokenCache Cache { get; }

    public RejectedTokenCache Rejected { get; }

    public TokenValidationParameters Parameters { get; }

    public SigningCredentials SigningCredentials { get; }

    /// <summary>A user access token shaped like Scalekit's, valid for an hour; <paramref name="customize"/> changes its claims.</summary>
    public string Mint(string subject, Action<Dictionary<string, object>>? customize = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["aud"] = new[] { Audience }, ["sub"] = subject, ["oid"] = "org_100000000000000001",
            ["sid"] = "ses_1", ["jti"] = Guid.NewGuid().ToString("N"), ["client_id"] = Audience,
            ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3600,
            ["roles"] = new[] { "member" }, ["permissions"] = new[] { "organizations:read", "organizations:create" },
        };
        customize?.Invoke(claims);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = SigningCredentials,
        });
    }

    public void Dispose()
    {
        Cache.Dispose();
        Rejected.Dispose();
        _services.Dispose();
    }

    private sealed class JwksFactory(string json) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(new JwksHandler(json));
    }

    private sealed class JwksHandler(string json) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
    }

    private sealed class StaticMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
