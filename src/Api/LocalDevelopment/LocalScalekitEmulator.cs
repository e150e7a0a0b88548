using Api.Scalekit;
using Microsoft.Extensions.Options;
using Scalekit.Emulator;

namespace Api.LocalDevelopment;

public static class LocalScalekitEmulator
{
    /// <summary>The audience of the emulator's persona tokens, accepted when no audience is configured.</summary>
    public const string LocalAudience = "skc_local_app";

    /// <summary>
    /// In Development only: when <c>Scalekit:EnvironmentUrl</c> is not set, start the local Scalekit emulator on
    /// loopback and point the API at it, so a fresh clone runs with no account and no network.
    /// </summary>
    public static IHostApplicationBuilder AddLocalScalekitEmulator(this IHostApplicationBuilder builder)
    {
        if (!builder.Environment.IsDevelopment())
        {
            return builder;
        }

        builder.Services.AddSingleton<LocalEmulatorHost>();
        builder.Services.AddSingleton<IPostConfigureOptions<ScalekitOptions>, UseEmulatorWhenUnconfigured>();
        builder.Services.AddHostedService<LocalEmulatorBanner>();
        return builder;
    }
}

/// <summary>Owns the embedded emulator: started on first need, stopped with the app.</summary>
internal sealed class LocalEmulatorHost : IAsyncDisposable
{
    private readonly Lock _gate = new();

    public ScalekitEmulator? Emulator { get; private set; }

    public ScalekitEmulator Start()
    {
        lock (_gate)
        {
            return Emulator ??= StartOnPreferredPort();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Emulator is { } emulator)
        {
            await emulator.DisposeAsync();
        }
    }

    // The emulator's usual port lets its `token` command find it; if that port is busy any free one will do.
    private static ScalekitEmulator StartOnPreferredPort()
    {
        try
        {
            return ScalekitEmulator.StartAsync(new EmulatorOptions { Port = EmulatorOptions.DefaultCliPort }).GetAwaiter().GetResult();
        }
        catch (IOException)
        {
            return ScalekitEmulator.StartAsync(new EmulatorOptions { Port = 0 }).GetAwaiter().GetResult();
        }
    }
}

internal sealed class UseEmulatorWhenUnconfigured(LocalEmulatorHost host) : IPostConfigureOptions<ScalekitOptions>
{
    public void PostConfigure(string? name, ScalekitOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.EnvironmentUrl))
        {
            return;
        }

        var emulator = host.Start();
        options.EnvironmentUrl = emulator.BaseUrl.ToString().TrimEnd('/');
        options.ClientId = emulator.Options.ClientId;
        options.ClientSecret = emulator.Options.ClientSecret;
        options.Issuers = [emulator.Issuer];
        if (options.Audiences.Length == 0)
        {
            options.Audiences = [LocalScalekitEmulator.LocalAudience];
        }
    }
}
