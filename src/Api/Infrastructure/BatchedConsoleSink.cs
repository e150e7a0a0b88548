using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Api.Infrastructure;

/// <summary>
/// Writes log events to standard output a batch at a time, off the request path: one buffered write per batch
/// instead of a locked, flushed write per event (which cost more than the rest of a cached request).
/// </summary>
internal sealed class BatchedConsoleSink(ITextFormatter formatter) : IBatchedLogEventSink, IDisposable
{
    private readonly StreamWriter _stdout = new(Console.OpenStandardOutput(), new UTF8Encoding(false), 64 * 1024);

    public async Task EmitBatchAsync(IReadOnlyCollection<LogEvent> batch)
    {
        foreach (var logEvent in batch)
        {
            formatter.Format(logEvent, _stdout);
        }

        await _stdout.FlushAsync();
    }

    public Task OnEmptyBatchAsync() => Task.CompletedTask;

    public void Dispose() => _stdout.Dispose();
}
