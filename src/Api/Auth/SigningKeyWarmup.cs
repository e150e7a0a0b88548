namespace Api.Auth;

/// <summary>Loads the signing keys at startup so the first request does not pay for the JWKS fetch.</summary>
internal sealed class SigningKeyWarmup(SigningKeyStore keys) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Not awaited: an unreachable JWKS must not keep the process from starting (it answers 503 meanwhile).
        _ = keys.RefreshAsync().AsTask();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
