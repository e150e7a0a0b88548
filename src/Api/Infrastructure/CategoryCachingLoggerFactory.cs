using System.Collections.Concurrent;

namespace Api.Infrastructure;

/// <summary>
/// Hands out one logger per category, as Microsoft's own <see cref="LoggerFactory"/> does. Serilog's factory builds a
/// new logger (with its own event-id cache) on every <see cref="CreateLogger"/> call, and ASP.NET Core resolves
/// authentication handlers per request, each asking for its logger: that was a logger and a dictionary per request.
/// Kestrel's bad-request logger and HttpClient's loggers are handed out wrapped (<see cref="KestrelRequestDataRedaction"/>,
/// <see cref="HttpClientHeaderRedaction"/>).
/// </summary>
internal sealed class CategoryCachingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, Create);

    private ILogger Create(string categoryName) => categoryName switch
    {
        KestrelRequestDataRedaction.Category => new KestrelRequestDataRedaction(inner.CreateLogger(categoryName)),
        _ when categoryName.StartsWith(HttpClientHeaderRedaction.CategoryPrefix, StringComparison.Ordinal)
            => new HttpClientHeaderRedaction(inner.CreateLogger(categoryName)),
        _ => inner.CreateLogger(categoryName),
    };

    public void AddProvider(ILoggerProvider provider)
    {
        inner.AddProvider(provider);
        _loggers.Clear();
    }

    public void Dispose() => inner.Dispose();

    /// <summary>Wraps the registered <see cref="ILoggerFactory"/>; call after the logging provider is registered.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.Last(descriptor => descriptor.ServiceType == typeof(ILoggerFactory));
        services.Remove(registered);
        services.AddSingleton<ILoggerFactory>(provider => new CategoryCachingLoggerFactory(registered switch
        {
            { ImplementationInstance: ILoggerFactory instance } => instance,
            { ImplementationFactory: { } factory } => (ILoggerFactory)factory(provider),
            _ => (ILoggerFactory)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!),
        }));
    }
}
