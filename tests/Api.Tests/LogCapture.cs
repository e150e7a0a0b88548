using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace Api.Tests;

/// <summary>Every Serilog event the app wrote, rendered with its properties, so tests can look for leaks.</summary>
public sealed class LogCapture : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public IReadOnlyList<LogEvent> Events => _events.ToArray();

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    public string AllText() => string.Join('\n', Events.Select(e =>
        e.RenderMessage() + " " + string.Join(' ', e.Properties.Select(p => $"{p.Key}={p.Value}")) + " " + e.Exception));
}
