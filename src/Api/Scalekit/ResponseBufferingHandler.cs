namespace Api.Scalekit;

/// <summary>
/// Reads each answer's body inside the resilience pipeline. Refit reads it only after the pipeline has returned, where
/// no attempt or total timeout applies: an upstream that sent its headers and then stalled mid-body held a read until
/// its caller gave up, and a create (which outlives its caller) for ever. Here a stalled body is an attempt timeout
/// (retried for reads, 504 otherwise) and a body cut short is a broken connection.
/// </summary>
public sealed class ResponseBufferingHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
