using System.Net;
using System.Text.Json;

namespace Api.Tests;

public static class ProblemAssert
{
    /// <summary>Asserts the status and a Problem Details body with a traceId; returns the body.</summary>
    public static async Task<JsonElement> IsProblem(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("traceId").GetString()));
        return body;
    }

    /// <summary>
    /// Sends <paramref name="request"/> with an <c>If-Match</c> naming entity tags and asserts the 412 it gets: this API
    /// issues no ETag, so such a condition never holds.
    /// </summary>
    public static async Task RefusesIfMatch(HttpClient client, HttpRequestMessage request, string ifMatch = "\"v1\"")
    {
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        var problem = await IsProblem(await client.SendAsync(request), HttpStatusCode.PreconditionFailed);
        Assert.Equal("precondition_unsupported", problem.GetProperty("reason").GetString());
    }
}
