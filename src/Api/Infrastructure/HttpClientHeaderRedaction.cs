namespace Api.Infrastructure;

/// <summary>
/// HttpClient's own header events (<c>System.Net.Http.HttpClient.*</c>, Trace) print each header value as <c>*</c>,
/// but carry the raw values as their structured properties, which Serilog writes out: a Scalekit answer's cookie, or
/// an <c>Authorization</c> header on any client that has its loggers, reached the log at Verbose. An event that is
/// not a message template (those are the header lists) is passed on as its printed text only; the request start and
/// end events (method, URI, status, elapsed) keep their properties.
/// </summary>
internal sealed class HttpClientHeaderRedaction(ILogger inner) : ILogger
{
    public const string CategoryPrefix = "System.Net.Http.HttpClient.";

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (state is IEnumerable<KeyValuePair<string, object?>> pairs && !pairs.Any(pair => pair.Key == "{OriginalFormat}"))
        {
            inner.Log(logLevel, eventId, formatter(state, exception), exception, static (text, _) => text);
            return;
        }

        inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
