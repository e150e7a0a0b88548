using Api.Infrastructure;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Refit;

namespace Api.Scalekit;

/// <summary>
/// Counts every HTTP exchange with Scalekit's API (innermost, so each retry and each 401 re-send is one call),
/// tagged with Refit's route template rather than the filled URL, and tells <see cref="UpstreamHealth"/> how it went.
/// </summary>
public sealed class UpstreamCallMetricsHandler(ApiMetrics metrics, UpstreamHealth health) : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<string> RouteTemplate = new(HttpRequestMessageOptions.RelativePathTemplate);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var method = request.Method.Method;
        var route = request.Options.TryGetValue(RouteTemplate, out var template) ? template : "(unknown)";
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            var status = (int)response.StatusCode;
            metrics.UpstreamCalled(method, route, OutcomeOf(status), status);
            // The answers the circuit breaker counts as failures; any other answer means Scalekit is serving, except a
            // 403: Scalekit refusing this API's client fails every call alike (a 401 is judged by ManagementTokenHandler,
            // as the first one only means the token expired).
            if (HttpClientResiliencePredicates.IsTransient(Outcome.FromResult(response)))
            {
                health.Failed($"answered {status}");
            }
            else if (response.StatusCode == System.Net.HttpStatusCode.Forbidden)
            {
                health.Failed(ManagementTokenHandler.RefusedClient);
            }
            else if (status is >= 300 and < 400)
            {
                // Never followed (it could carry the management token elsewhere): every such call answers 502.
                health.Failed($"answered {status}, a redirect this API does not follow");
            }
            else
            {
                health.Succeeded();
            }

            return response;
        }
        catch (OperationCanceledException)
        {
            // An attempt or total timeout of the resilience pipeline cut the call short, or nobody waits for its answer
            // any more (the caller hung up, every reader of a shared read left, or the shutdown deadline passed): that
            // says nothing about Scalekit.
            // Readiness hears of the pipeline's own timeouts from the pipeline (ReportToReadiness), not of hang-ups.
            metrics.UpstreamCalled(method, route, CallerCancellationHandler.CallerLeft(request) ? "cancelled" : "timeout", null);
            throw;
        }
        catch (HttpRequestException)
        {
            metrics.UpstreamCalled(method, route, "network_error", null);
            health.Failed("could not be reached");
            throw;
        }
        catch (ScalekitContractException refused)
        {
            // An answer arrived and was refused while it was read (a body over the size limit): callers get 502.
            metrics.UpstreamCalled(method, route, "invalid_response", refused.StatusCode);
            health.Failed("answered with a body this API refuses");
            throw;
        }
    }

    private static string OutcomeOf(int status) => status switch
    {
        < 300 => "success",
        < 400 => "redirect",
        < 500 => "client_error",
        _ => "server_error",
    };
}
