using System.Net;
using System.Net.Http.Headers;

namespace Api.Scalekit;

/// <summary>
/// Puts the management token on every Scalekit API call. A 401 means the token was revoked or expired early:
/// drop it, fetch one new token (shared with concurrent callers) and send the call once more. A replacement refused in
/// its turn means Scalekit refuses this API's client: readiness is told, and for the fetch cooldown the provider keeps
/// that token, so calls are not sent twice (<see cref="ManagementTokenProvider.InvalidateAsync"/>).
/// </summary>
public sealed class ManagementTokenHandler(ManagementTokenProvider tokens, UpstreamHealth health) : DelegatingHandler
{
    /// <summary>What readiness says when Scalekit refuses this API's client rather than one expired token.</summary>
    public const string RefusedClient = "refused this API's client (a fresh management token answered 401, or a call 403): its access may have been revoked in the Scalekit dashboard";

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
        await tokens.InvalidateAsync(token, cancellationToken);
        var fresh = await tokens.GetTokenAsync(cancellationToken);
        if (fresh == token)
        {
            // Kept: it replaced a refused token moments ago and is refused too; sent again, it would be refused again.
            health.Failed(RefusedClient);
            return response;
        }

        response.Dispose();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fresh);
        response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            // A token issued moments ago is refused too: the API client itself has lost its access, and every call fails.
            health.Failed(RefusedClient);
        }

        return response;
    }
}
