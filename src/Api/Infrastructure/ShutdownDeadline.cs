namespace Api.Infrastructure;

/// <summary>
/// Cancelled when the host's shutdown timeout (<c>HostOptions.ShutdownTimeout</c>, 30 s by default) runs out. A create
/// runs to its end even when its caller hangs up, but not past this: Kestrel drops the connection at that moment and
/// the host goes on to dispose the services the create still needs. Left running, it held the process past the timeout
/// and then failed on disposed services, so its idempotency key was never marked for reconciliation.
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

    // The source itself is left undisposed: a create that started before shutdown may still hold its token.
    public void Dispose() => _registration.Dispose();
}

public static class ShutdownDeadlineSetup
{
    public static IServiceCollection AddShutdownDeadline(this IServiceCollection services) =>
        services.AddSingleton<ShutdownDeadline>().AddHostedService(provider => provider.GetRequiredService<ShutdownDeadline>());
}
