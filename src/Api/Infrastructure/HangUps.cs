namespace Api.Infrastructure;

/// <summary>
/// Callers that left before their answer was written. Most requests notice it by their work being cancelled, and the
/// exception handler records 499; an answer decided after work its caller's leaving does not cancel (a create, a
/// metadata change holding its turn) is recorded the same way instead of as a status nobody received.
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

    /// <summary>
    /// An endpoint's answer to a caller who left while it worked is recorded 499 and not written. Creates and metadata
    /// changes run to their end whatever the caller does (the outcome must be known), and their answer would otherwise
    /// be logged as a 201 or 200 nobody received: the response writer drops a body it cannot send without a word.
    /// Outermost of the endpoint's filters, so an idempotent create has stored its answer for the retry by then. On the
    /// changes only: a read's Scalekit call is cancelled when its caller leaves (the exception handler records 499), and
    /// a filter would put an invocation context and a boxed result on every read, the API's hottest path.
    /// </summary>
    public static TBuilder RecordingHangUps<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(static async (context, next) =>
        {
            var result = await next(context);
            return RecordIfGone(context.HttpContext) ? Results.Empty : result;
        });
}
