namespace Api.Idempotency;

/// <summary>Writes a captured response: the first time as the handler produced it, later as a replay.</summary>
internal sealed class StoredResponseResult(StoredResponse response, bool replayed) : IResult
{
    public const string ReplayedHeader = "Idempotent-Replayed";

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var http = httpContext.Response;
        http.StatusCode = response.StatusCode;
        if (response.Location is not null)
        {
            http.Headers.Location = response.Location;
        }

        if (response.ContentType is not null)
        {
            http.ContentType = response.ContentType;
        }

        if (replayed)
        {
            http.Headers[ReplayedHeader] = "true";
        }

        http.ContentLength = response.Body.Length;
        await http.Body.WriteAsync(response.Body, httpContext.RequestAborted);
    }
}
