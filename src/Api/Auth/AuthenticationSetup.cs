using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Api.Auth;

public static class AuthenticationSetup
{
    /// <summary>JWT bearer validation of Scalekit access tokens against the environment's JWKS.</summary>
    public static IServiceCollection AddApiAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<SigningKeyStore>();
        services.AddSingleton<ScalekitAccessTokenHandler>();
        services.AddHttpContextAccessor();  // the token handler stops waiting on a JWKS fetch for a caller who left
        services.AddSingleton<BearerChallengeWriter>();
        services.AddSingleton<AccessAudit>();
        services.AddSingleton<BearerEvents>();
        services.TryAddTransient<ScalekitHttp2Handler>();
        services.AddHttpClient(SigningKeyStore.HttpClientName, ConfigureJwksClient)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, ActivityHeadersPropagator = TraceContextOnly.Instance })
            .AddHttpMessageHandler<ScalekitHttp2Handler>();
        services.AddHostedService<SigningKeyWarmup>();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        WithoutEagerDataProtectionKeyRing(services);
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<ScalekitOptions>, SigningKeyStore, ScalekitAccessTokenHandler>(Configure);
        return services;
    }

    // The JWKS is a few KB. Its body is refused past the cap every other Scalekit answer has: read whole, whatever
    // its size, a JWKS of hundreds of MB took the process past a GB before it was parsed.
    private static void ConfigureJwksClient(HttpClient client)
    {
        client.Timeout = TimeSpan.FromSeconds(5);
        client.MaxResponseContentBufferSize = ResponseBufferingHandler.MaxBodyBytes;
    }

    // AddAuthentication brings in Data Protection, whose hosted service loads the key ring at startup: it creates a
    // key, writes it to ~/.aspnet/DataProtection-Keys (a read-only container gets another warning) and warns that
    // the key is stored unencrypted. Bearer tokens need no key, and nothing in this API protects data; without the
    // eager load a key would be made only if something ever asked for one.
    private static void WithoutEagerDataProtectionKeyRing(IServiceCollection services)
    {
        const string eagerKeyRing = "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService";
        foreach (var hosted in services.Where(d => d.ServiceType == typeof(IHostedService)
                     && d.ImplementationType?.FullName == eagerKeyRing).ToList())
        {
            services.Remove(hosted);
        }
    }

    internal static void Configure(JwtBearerOptions options, IOptions<ScalekitOptions> scalekit, SigningKeyStore keys, ScalekitAccessTokenHandler handler)
    {
        var settings = scalekit.Value;
        options.MapInboundClaims = false;
        // Keys come from SigningKeyStore, not from an OpenID configuration manager.
        options.Authority = null;
        options.MetadataAddress = null!;
        options.RefreshOnIssuerKeyNotFound = false;
        options.IncludeErrorDetails = false;
        // Nothing reads the raw token back from the ticket; storing it costs allocations on every request.
        options.SaveToken = false;
        options.TokenHandlers.Clear();
        options.TokenHandlers.Add(handler);
        options.EventsType = typeof(BearerEvents);

        // Mutate, never replace: replacing would drop anything else bound onto the parameters.
        var parameters = options.TokenValidationParameters;
        parameters.ValidateIssuer = true;
        parameters.ValidIssuers = settings.EffectiveIssuers;
        parameters.ValidateAudience = true;
        parameters.ValidAudiences = settings.Audiences;
        // RFC 7519 compares audiences as exact strings; the library's default would take "skc_app/" for "skc_app".
        parameters.IgnoreTrailingSlashWhenValidatingAudience = false;
        parameters.ValidateLifetime = true;
        parameters.RequireExpirationTime = true;
        parameters.RequireSignedTokens = true;
        parameters.ValidateIssuerSigningKey = true;
        parameters.ValidAlgorithms = [SecurityAlgorithms.RsaSha256];
        parameters.ClockSkew = TimeSpan.FromSeconds(30);
        parameters.NameClaimType = ScalekitClaims.Subject;
        parameters.RoleClaimType = ScalekitClaims.Roles;
        parameters.IssuerSigningKeyResolver = (_, _, kid, _) => ScalekitAccessTokenHandler.ResolveSigningKey(keys, kid);
    }
}
