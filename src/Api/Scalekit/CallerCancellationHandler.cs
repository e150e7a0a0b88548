namespace Api.Scalekit;

/// <summary>
/// Outside the resilience pipeline, notes the token of whoever made the call (a request, the readers of a shared
/// organization read, or the shutdown deadline for a create), so that an exchange inside it, cancelled either way, can tell that caller leaving from the
/// pipeline's own timeouts (<see cref="UpstreamCallMetricsHandler"/>).
/// </summary>
public sealed class CallerCancellationHandler : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<CancellationToken> CallerToken = new("Api.CallerCancellation");

    /// <summary>Whether whoever made <paramref name="request"/> no longer waits for its answer.</summary>
    public static bool CallerLeft(HttpRequestMessage request) =>
        request.Options.TryGetValue(CallerToken, out var token) && token.IsCancellationRequested;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Options.Set(CallerToken, cancellationToken);
        return base.SendAsync(request, cancellationToken);
    }
}
