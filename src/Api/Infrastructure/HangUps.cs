namespace Api.Infrastructure;

/// <summary>
/// Callers that left before their answer was written. Most requests notice it by their work being cancelled, and the
/// exception handler records 499; an answer decided after waiting on work shared with others, which no one caller's
/// leaving cancels (a JWKS refetch), is recorded the same way instead of as a status nobody received.
/// </summary>
public static class HangUps
{
    /// <summary>Records 499 and returns true when the caller is gone: the answer is not worth writing.</summary>
    public static bool RecordIfGone(HttpContext http)
    {
        if (!http.RequestAborted.IsCancellationRequested || http.Response.HasStarted)
        {
            return false;
        }

        http.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
        return true;
    }
}
