using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Scalekit.Emulator.DevTools;
using Scalekit.Emulator.OAuth;
using Scalekit.Emulator.Organizations;
using Scalekit.Emulator.Tokens;

namespace Scalekit.Emulator;

/// <summary>
/// A local Scalekit environment over real HTTP on 127.0.0.1: discovery, JWKS, client-credentials tokens and the
/// organizations API, with an in-memory store. Start it, point the API at <see cref="BaseUrl"/>, dispose it to stop.
/// </summary>
public sealed class ScalekitEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SigningKeyRing _keys;
    private readonly AccessTokenMinter _minter;
    private readonly ManagementTokens _managementTokens;
    private int _disposed;

    private ScalekitEmulator(WebApplication app, EmulatorAddress address, Uri? http2BaseUrl)
    {
        _app = app;
        _keys = app.Services.GetRequiredService<SigningKeyRing>();
        _minter = app.Services.GetRequiredService<AccessTokenMinter>();
        _managementTokens = app.Services.GetRequiredService<ManagementTokens>();
        Store = app.Services.GetRequiredService<EmulatorStore>();
        Options = app.Services.GetRequiredService<EmulatorOptions>();
        Requests = app.Services.GetRequiredService<RequestCounters>();
        BaseUrl = address.BaseUrl;
        Http2BaseUrl = http2BaseUrl;
        Issuer = address.Issuer;
    }

    /// <summary>Where it listens, e.g. http://127.0.0.1:5380/ — the Scalekit environment URL to configure.</summary>
    public Uri BaseUrl { get; }

    /// <summary>
    /// The cleartext HTTP/2-only address (<see cref="EmulatorOptions.Http2Port"/>), e.g. http://127.0.0.1:5381/, or null.
    /// An API pointed here needs <c>Scalekit:Http2</c> <c>Always</c> and <see cref="Issuer"/> among its <c>Scalekit:Issuers</c>.
    /// </summary>
    public Uri? Http2BaseUrl { get; }

    /// <summary>The <c>iss</c> of every token it mints: the base URL without trailing slash unless configured.</summary>
    public string Issuer { get; }

    /// <summary>The options it was started with (client id and secret included).</summary>
    public EmulatorOptions Options { get; }

    /// <summary>The organizations it serves.</summary>
    public EmulatorStore Store { get; }

    /// <summary>Requests answered so far by method and route pattern (also at <c>GET /_emulator/stats</c>).</summary>
    public RequestCounters Requests { get; }

    /// <summary>How many management tokens <c>POST /oauth/token</c> has issued (to check that a client caches them).</summary>
    public int ManagementTokensIssued => _managementTokens.Issued;

    /// <summary>
    /// Starts Kestrel on 127.0.0.1. The emulator reads no configuration, environment variables or appsettings of
    /// the process that hosts it, and logs warnings and errors only.
    /// </summary>
    public static async Task<ScalekitEmulator> StartAsync(EmulatorOptions? options = null, CancellationToken ct = default)
    {
        options ??= new EmulatorOptions();
        options.Validate();

        // Build and start with no ambient execution context: WebApplicationFactory's HostFactoryResolver captures
        // the first host built in the API entry point's async flow, which must be the API's, not this one.
        Task<ScalekitEmulator> start;
        using (ExecutionContext.SuppressFlow())
        {
            start = Task.Run(() => StartCoreAsync(options, ct), ct);
        }

        return await start;
    }

    /// <summary>Signs an access token with the current key.</summary>
    public string MintAccessToken(AccessTokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _minter.Mint(request);
    }

    /// <summary>Fresh tokens for the ready-made callers: member, admin, other-org-member, m2m, platform.</summary>
    public IReadOnlyList<Persona> Personas(string audience)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(audience);
        return PersonaCatalog.Create(_minter, audience);
    }

    /// <summary>
    /// Signs from now on with a new key and returns its <c>kid</c>. The previous keys stay in <c>/keys</c> unless
    /// <paramref name="retirePrevious"/>, which makes tokens signed with them unverifiable.
    /// </summary>
    public string RotateSigningKey(bool retirePrevious = false) => _keys.Rotate(retirePrevious);

    /// <summary>Invalidates every management token issued so far: the next <c>/api/v1/*</c> call answers 401.</summary>
    public void RevokeManagementTokens() => _managementTokens.RevokeAll();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _app.StopAsync();
        // The container disposes the key ring with the rest.
        await _app.DisposeAsync();
    }

    private static async Task<ScalekitEmulator> StartCoreAsync(EmulatorOptions options, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(ScalekitEmulator).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Forget the host process's appsettings.json, environment variables and args. Its ASPNETCORE_URLS or
        // HTTP_PORTS already sit in the host settings, which win over an empty "urls", so name the address here
        // rather than with Kestrel's Listen() (which would log an "Overriding address(es)" warning).
        builder.Configuration.Sources.Clear();
        ListenOptions? http2Listener = null;
        if (options.Http2Port is { } http2Port)
        {
            // Two endpoints with their own protocols need Listen(). An ASPNETCORE_URLS or HTTP_PORTS of the host process
            // is then overridden with Kestrel's warning saying so, rather than silently as the address below does it.
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(IPAddress.Loopback, options.Port);
                kestrel.Listen(IPAddress.Loopback, http2Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    http2Listener = listen;
                });
            });
        }
        else
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [WebHostDefaults.ServerUrlsKey] = $"http://127.0.0.1:{options.Port}",
            });
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A failed start (port taken) reaches the caller as an exception; the host need not log it too.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        // Whoever started the emulator stops it; Ctrl+C is theirs to handle.
        builder.Services.AddSingleton<IHostLifetime, OwnerControlledLifetime>();

        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });

        var address = new EmulatorAddress(options.Issuer);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(address);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SigningKeyRing>();
        builder.Services.AddSingleton<AccessTokenMinter>();
        builder.Services.AddSingleton<ManagementTokens>();
        builder.Services.AddSingleton<RequestCounters>();
        builder.Services.AddSingleton(services =>
            new EmulatorStore(options.SeedOrganizations, services.GetRequiredService<TimeProvider>()));

        var app = builder.Build();
        RequestCounters.UseRequestCounting(app);
        app.MapOAuth();
        app.MapOrganizations();
        app.MapDevTools();

        if (options.Port != 0)
        {
            // Known up front, so even the first request after binding sees the right issuer.
            address.Bind(new Uri($"http://127.0.0.1:{options.Port}/"));
        }

        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        // Kestrel writes the bound port back into each listener's endpoint (port 0 included).
        var http2BaseUrl = http2Listener is { IPEndPoint: { } http2Bound } ? new Uri($"http://127.0.0.1:{http2Bound.Port}/") : null;
        var bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Single(a => http2BaseUrl is null || new Uri(a).Port != http2BaseUrl.Port);
        address.Bind(new Uri(bound + "/"));
        return new ScalekitEmulator(app, address, http2BaseUrl);
    }

    private sealed class OwnerControlledLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
