namespace Api.Infrastructure;

/// <summary>
/// Kestrel's bad-request events (<c>Microsoft.AspNetCore.Server.Kestrel.BadRequests</c>, Debug) quote up to 128 bytes
/// of the request that failed to parse, in their message and their exception, once Kestrel's own Information level
/// is on: a malformed <c>Authorization : Bearer ...</c> line, or a request line carrying <c>?access_token=</c>, put a
/// token in the log. The event is passed on saying what was wrong ("Invalid request header") without those bytes.
/// </summary>
internal sealed class KestrelRequestDataRedaction(ILogger inner) : ILogger
{
    public const string Category = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";

    private const string Omitted = ": (request data not logged)";

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (exception is not BadHttpRequestException bad || Redact(bad.Message) is not { } redacted)
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
            return;
        }

        // The state's values (Serilog renders the event from them) and its formatted text (other providers), both
        // with the quoted message replaced; the exception's stack trace is the parser's own, of no use to anyone.
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.Select(pair => pair.Value is string text && text == bad.Message ? new(pair.Key, redacted) : pair).ToList()
            : [];
        var message = formatter(state, null).Replace(bad.Message, redacted, StringComparison.Ordinal);
        inner.Log(logLevel, eventId, values, new BadHttpRequestException(redacted, bad.StatusCode), (_, _) => message);
    }

    // "Invalid request header: 'Authorization : Bearer ey...'" becomes "Invalid request header: (request data not logged)".
    private static string? Redact(string message) =>
        message.IndexOf(": '", StringComparison.Ordinal) is var quote and > 0 ? message[..quote] + Omitted : null;
}
