namespace Api.Scalekit;

/// <summary>Where replicas share the management token, so N replicas do not each fetch one.</summary>
public interface IManagementTokenStore
{
    Task<SharedManagementToken?> GetAsync(CancellationToken cancellationToken);

    Task SetAsync(SharedManagementToken token, CancellationToken cancellationToken);

    /// <summary>Removes the shared token if it is still <paramref name="rejectedToken"/>.</summary>
    Task RemoveAsync(string rejectedToken, CancellationToken cancellationToken);
}

public sealed record SharedManagementToken(string Value, DateTimeOffset RefreshAt);

/// <summary>One process, nothing to share: the provider's own cache is the whole story.</summary>
public sealed class LocalManagementTokenStore : IManagementTokenStore
{
    public static readonly LocalManagementTokenStore Instance = new();

    public Task<SharedManagementToken?> GetAsync(CancellationToken cancellationToken) => Task.FromResult<SharedManagementToken?>(null);

    public Task SetAsync(SharedManagementToken token, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task RemoveAsync(string rejectedToken, CancellationToken cancellationToken) => Task.CompletedTask;
}
