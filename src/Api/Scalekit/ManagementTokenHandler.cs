using System.Net;
using System.Net.Http.Headers;

namespace Api.Scalekit;

/// <summary>
/// Puts the management token on every Scalekit API call. A 401 means the token was revoked or expired early:
/// drop it, fetch one new token (shared with concurrent callers) and send the call once more.
/// </summary>
public sealed class ManagementTokenHandler(ManagementTokenProvider tokens) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokens.GetTokenAsync(cancellationToken);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        // A 401 is decided before Scalekit acts, so even a POST is safe to send once more.
        response.Dispose();
        await tokens.InvalidateAsync(token, cancellationToken);
        var fresh = await tokens.GetTokenAsync(cancellationToken);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fresh);
        return await base.SendAsync(request, cancellationToken);
    }
}
