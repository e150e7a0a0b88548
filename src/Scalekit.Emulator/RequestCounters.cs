using System.Collections.Concurrent;
using Scalekit.Emulator.DevTools;

namespace Scalekit.Emulator;

/// <summary>
/// How many requests the emulator answered, by method and route pattern (<c>GET /api/v1/organizations/{id}</c>,
/// <c>GET /keys</c>, <c>POST /oauth/token</c>...), so a benchmark can tell how often the API under test called
/// upstream. The emulator's own <c>/_emulator</c> routes are not counted.
/// </summary>
public sealed class RequestCounters
{
    private readonly ConcurrentDictionary<(string Method, string Route), long> _counts = new();

    /// <summary>A snapshot: "METHOD route" → requests answered so far.</summary>
    public IReadOnlyDictionary<string, long> Snapshot() =>
        _counts.ToDictionary(pair => $"{pair.Key.Method} {pair.Key.Route}", pair => pair.Value, StringComparer.Ordinal);

    /// <summary>Requests answered on <paramref name="route"/> (a route pattern such as <c>/keys</c>) with <paramref name="method"/>.</summary>
    public long Count(string method, string route) => _counts.TryGetValue((method, route), out var count) ? count : 0;

    internal void Increment(string method, string route) =>
        _counts.AddOrUpdate((method, route), 1, static (_, count) => count + 1);

    /// <summary>Counts after routing, so the key is the route pattern, never a raw path with ids in it.</summary>
    internal static IApplicationBuilder UseRequestCounting(WebApplication app)
    {
        var counters = app.Services.GetRequiredService<RequestCounters>();
        return app.Use(async (context, next) =>
        {
            await next(context);
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)";
            if (!route.StartsWith(DevToolsEndpoints.Prefix, StringComparison.Ordinal))
            {
                counters.Increment(context.Request.Method, route);
            }
        });
    }
}
