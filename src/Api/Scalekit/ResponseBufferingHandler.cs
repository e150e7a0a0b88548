namespace Api.Scalekit;

/// <summary>
/// Reads each answer's body inside the resilience pipeline. Refit reads it only after the pipeline has returned, where
/// no attempt or total timeout applies: an upstream that sent its headers and then stalled mid-body held a read until
/// its caller gave up, and a create (which outlives its caller) for ever. Here a stalled body is an attempt timeout
/// (retried for reads, 504 otherwise) and a body cut short is a broken connection. A body larger than any answer
/// Scalekit gives is refused rather than held in memory (and is not retried: it would come back the same).
/// </summary>
public sealed class ResponseBufferingHandler : DelegatingHandler
{
    /// <summary>Far above Scalekit's largest answer (a page of 100 organizations at their size limits is under 1 MB).</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        try
        {
            if (response.Content.Headers.ContentLength > MaxBodyBytes)
            {
                throw TooLarge(response);
            }

            await response.Content.LoadIntoBufferAsync(MaxBodyBytes, cancellationToken);
            return response;
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded)
        {
            response.Dispose();
            throw TooLarge(response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static ScalekitContractException TooLarge(HttpResponseMessage response) =>
        new($"The answer body is larger than {MaxBodyBytes} bytes.") { StatusCode = (int)response.StatusCode };
}
