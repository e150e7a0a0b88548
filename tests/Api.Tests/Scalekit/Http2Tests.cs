using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Api.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scalekit.Emulator;

namespace Api.Tests.Scalekit;

/// <summary>
/// <c>Scalekit:Http2</c>. The emulator's HTTP/2-only port answers an HTTP/1.1 request 400, so an API that gets its
/// answers there made its JWKS fetch, its token fetch and its management calls over HTTP/2. Over TLS, where the default
/// negotiates, a JWKS endpoint that offers both versions tells which one each fetch used.
/// </summary>
public sealed class Http2Tests
{
    [Fact]
    public async Task WithHttp2AlwaysEveryScalekitCallIsAnsweredByAnHttp2OnlyServer()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions { Http2Port = 0 });
        using var factory = ApiAgainst(emulator.Http2BaseUrl!, emulator, "Always");
        using var client = ClientOf(factory, emulator);

        var read = await client.GetAsync($"/organizations/{SeedData.AcmeOrganizationId}");
        var created = await client.PostAsJsonAsync("/organizations", new { displayName = "Over HTTP/2" });

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Contains("Over HTTP/2", emulator.Store.Organizations.Select(organization => organization.DisplayName));
    }

    [Theory]
    [InlineData("Negotiate")]
    [InlineData("Off")]
    public async Task OverPlainHttpOnlyAlwaysSpeaksHttp2(string http2)
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions { Http2Port = 0 });
        using var factory = ApiAgainst(emulator.Http2BaseUrl!, emulator, http2);
        using var client = ClientOf(factory, emulator);

        var read = await client.GetAsync($"/organizations/{SeedData.AcmeOrganizationId}");

        // Nothing to negotiate without TLS: HTTP/1.1, which the HTTP/2-only port refuses, so no signing key is loaded.
        var problem = await ProblemAssert.IsProblem(read, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("signing_keys_unavailable", problem.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData(null, "HTTP/2")]
    [InlineData("Negotiate", "HTTP/2")]
    [InlineData("Off", "HTTP/1.1")]
    public async Task OverTlsTheDefaultNegotiatesHttp2(string? http2, string expected)
    {
        using var certificate = SelfSignedLoopbackCertificate();
        var protocols = new ConcurrentQueue<string>();
        await using var keys = await StartTlsKeysServerAsync(certificate, protocols);
        var url = keys.Urls.Single();
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            Configure(host, url, issuer: url, http2);
            host.ConfigureTestServices(services => services.AddHttpClient(SigningKeyStore.HttpClientName)
                .ConfigurePrimaryHttpMessageHandler((handler, _) => ((SocketsHttpHandler)handler).SslOptions.RemoteCertificateValidationCallback =
                    (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString()));
        });

        var store = factory.Services.GetRequiredService<SigningKeyStore>();
        await Poll.UntilAsync(async () => store.HasKeys || await store.RefreshAsync() is not null, "the API loaded its signing keys over TLS");

        Assert.NotEmpty(protocols);
        Assert.All(protocols, protocol => Assert.Equal(expected, protocol));
    }

    private static WebApplicationFactory<Program> ApiAgainst(Uri environmentUrl, ScalekitEmulator emulator, string? http2) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(host => Configure(host, environmentUrl.ToString(), emulator.Issuer, http2));

    private static void Configure(IWebHostBuilder host, string environmentUrl, string issuer, string? http2)
    {
        host.UseContentRoot(AppContext.BaseDirectory);
        host.UseEnvironment("Testing");
        host.UseSetting("Scalekit:EnvironmentUrl", environmentUrl);
        host.UseSetting("Scalekit:ClientId", EmulatorOptions.DefaultClientId);
        host.UseSetting("Scalekit:ClientSecret", EmulatorOptions.DefaultClientSecret);
        host.UseSetting("Scalekit:Audiences:0", "skc_app");
        host.UseSetting("Scalekit:Issuers:0", issuer);
        if (http2 is not null)
        {
            host.UseSetting("Scalekit:Http2", http2);
        }
    }

    private static HttpClient ClientOf(WebApplicationFactory<Program> factory, ScalekitEmulator emulator)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", emulator.MintAccessToken(new AccessTokenRequest
        {
            Subject = "m2morg_h2", OrganizationId = SeedData.AcmeOrganizationId, Audiences = ["skc_app"],
            Scopes = ["organizations:read_all", "organizations:create"],
        }));
        return client;
    }

    // A JWKS endpoint over TLS offering HTTP/1.1 and HTTP/2, as Scalekit's would, noting which one each fetch used.
    private static async Task<WebApplication> StartTlsKeysServerAsync(X509Certificate2 certificate, ConcurrentQueue<string> protocols)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }));
        var app = builder.Build();
        var jwks = JsonSerializer.Serialize(new { keys = new[] { new TestKey("tls-key").ToJwk() } });
        app.MapGet("/keys", (HttpContext context) =>
        {
            protocols.Enqueue(context.Request.Protocol);
            return Results.Text(jwks, "application/json");
        });
        await app.StartAsync();
        return app;
    }

    private static X509Certificate2 SelfSignedLoopbackCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Exported and loaded again, so the server's TLS stack gets a private key it can use on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
    }
}
