using System.Globalization;

namespace Api.Infrastructure;

/// <summary>
/// Cancelled when the host's shutdown timeout (<c>HostOptions.ShutdownTimeout</c>, 30 s by default) runs out. A create,
/// and a metadata change holding its organization's turn, run to their end even when the caller hangs up, but not past
/// this: Kestrel drops the connection at that moment and the host goes on to dispose the services they still need.
/// Left running, they held the process past the timeout and then failed on disposed services (a create's idempotency
/// key was never marked for reconciliation; a metadata change released its turn while its write could still land).
/// </summary>
public sealed class ShutdownDeadline : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _passed = new();
    private CancellationTokenRegistration _registration;

    public CancellationToken Token => _passed.Token;

    // The host hands every stopping service one token, cancelled when its shutdown timeout runs out.
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _registration = cancellationToken.Register(static passed => ((CancellationTokenSource)passed!).Cancel(), _passed);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // The source itself is left undisposed: a request that started before shutdown may still hold its token.
    public void Dispose() => _registration.Dispose();
}

public static class ShutdownDeadlineSetup
{
    public static IServiceCollection AddShutdownDeadline(this IServiceCollection services)
    {
        // Checked as a setting of its own: the host resolves its HostOptions while it is built, before any check could
        // name the key.
        services.AddOptions<ShutdownTimeoutSetting>()
            .Validate<IConfiguration>(ShutdownTimeoutSetting.IsUsable, ShutdownTimeoutSetting.Failure)
            .ValidateOnStart();
        return services.AddSingleton<ShutdownDeadline>().AddHostedService(provider => provider.GetRequiredService<ShutdownDeadline>());
    }
}

/// <summary>
/// <c>shutdownTimeoutSeconds</c> (env <c>DOTNET_shutdownTimeoutSeconds</c>), read by the host itself. A value it cannot
/// parse (<c>thirty</c>, <c>-5</c>) it ignored, draining for its default 30 s instead; one past about 49 days it took,
/// and then crashed on SIGTERM with a stack trace (exit 134) instead of draining at all.
/// </summary>
internal sealed class ShutdownTimeoutSetting
{
    public const string Key = "shutdownTimeoutSeconds";

    internal const int LongestSeconds = 24 * 60 * 60;

    public static readonly string Failure =
        $"DOTNET_{Key} must be a whole number of seconds from 0 to {LongestSeconds} (default 30): how long requests in flight may finish after SIGTERM.";

    public static bool IsUsable(ShutdownTimeoutSetting _, IConfiguration configuration) =>
        configuration[Key] is not { Length: > 0 } value
        || (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= LongestSeconds);
}
