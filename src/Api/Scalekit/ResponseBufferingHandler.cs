namespace Api.Scalekit;

/// <summary>
/// Reads each answer's body inside the resilience pipeline. Refit reads it only after the pipeline has returned, where
/// no attempt or total timeout applies: an upstream that sent its headers and then stalled mid-body held a read until
/// its caller gave up, and a create (which outlives its caller) for ever. Here a stalled body is an attempt timeout
/// (retried for reads, 504 otherwise) and a body cut short is a broken connection. A body larger than any answer
/// Scalekit gives, or one that does not decompress, is refused rather than held in memory or passed on as a crash (and
/// is not retried: it would come back the same).
/// </summary>
public sealed class ResponseBufferingHandler : DelegatingHandler
{
    /// <summary>Far above Scalekit's largest answer (a page of 100 organizations at their size limits is under 1 MB).</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Innermost, so the first attempt's start is as close to the pipeline's as a handler gets.
        UpstreamRetryAfter.NoteFirstSend(request);
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
        // A body declared gzip/deflate (InvalidDataException) or br (InvalidOperationException) that does not decompress:
        // the decoders' own exceptions are no transport failure, and escaped every mapping as a 500.
        catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException)
        {
            response.Dispose();
            throw new ScalekitContractException("The answer body could not be decompressed.") { StatusCode = (int)response.StatusCode };
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
