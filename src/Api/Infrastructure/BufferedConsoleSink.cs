using System.Buffers;
using System.Globalization;
using System.Text;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace Api.Infrastructure;

/// <summary>
/// Writes log events to standard output as UTF-8 text, off the request path. Each event is formatted on the thread
/// that logs it and appended to a shared 64 KB buffer, so the <see cref="LogEvent"/> itself dies young: queueing
/// events for a background formatter (Serilog's batching sink) kept thousands of them alive across collections,
/// which cost about 20 MB of peak memory under load. A background loop writes what is buffered every
/// <see cref="FlushInterval"/>; after an interval with nothing to write it sleeps until the next event, so an idle
/// process is not woken. Past <see cref="MaxPendingBytes"/> of unwritten text, events are dropped and counted
/// (reported in the stream) rather than slowing requests or growing memory.
/// </summary>
internal sealed class BufferedConsoleSink : ILogEventSink, IDisposable
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(10);
    public const int BufferSize = 64 * 1024;
    public const int MaxPendingBytes = 64 * BufferSize;
    private const int MaxReusedTextCapacity = 16 * 1024;

    [ThreadStatic] private static StringWriter? t_text;

    private readonly ITextFormatter _formatter;
    private readonly Stream _output;
    private readonly Lock _gate = new();
    private readonly Queue<(byte[] Buffer, int Length)> _filled = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;
    private byte[] _current = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _currentLength;
    private int _pendingBytes;
    private long _dropped;
    private bool _disposed;
    private bool _writerAsleep;

    public BufferedConsoleSink(ITextFormatter formatter) : this(formatter, Console.OpenStandardOutput())
    {
    }

    internal BufferedConsoleSink(ITextFormatter formatter, Stream output)
    {
        _formatter = formatter;
        _output = output;
        _writer = Task.Run(WriteLoopAsync);
    }

    // For tests: whether the writer found nothing to write and stopped its timer.
    internal bool WriterAsleep
    {
        get
        {
            lock (_gate)
            {
                return _writerAsleep;
            }
        }
    }

    public void Emit(LogEvent logEvent)
    {
        var text = t_text ??= new StringWriter(CultureInfo.InvariantCulture);
        var builder = text.GetStringBuilder();
        builder.Clear();
        _formatter.Format(logEvent, text);
        Append(builder);
        if (builder.Capacity > MaxReusedTextCapacity)
        {
            t_text = null; // one huge event (a long stack trace) must not pin its buffer to this thread
        }
    }

    private void Append(StringBuilder text)
    {
        var byteCount = 0;
        foreach (var chunk in text.GetChunks())
        {
            byteCount += Encoding.UTF8.GetByteCount(chunk.Span);
        }

        lock (_gate)
        {
            if (_disposed || _pendingBytes + _currentLength + byteCount > MaxPendingBytes)
            {
                _dropped++;
                return;
            }

            if (_currentLength + byteCount > _current.Length)
            {
                SealCurrent(Math.Max(BufferSize, byteCount));
            }

            foreach (var chunk in text.GetChunks())
            {
                _currentLength += Encoding.UTF8.GetBytes(chunk.Span, _current.AsSpan(_currentLength));
            }

            if (_writerAsleep)
            {
                _writerAsleep = false;
                _wake.Release();
            }
        }
    }

    // Called under _gate: queues the current buffer for writing and starts a fresh one.
    private void SealCurrent(int nextSize)
    {
        if (_currentLength > 0)
        {
            _filled.Enqueue((_current, _currentLength));
            _pendingBytes += _currentLength;
            _current = ArrayPool<byte>.Shared.Rent(nextSize);
            _currentLength = 0;
        }
        else if (_current.Length < nextSize)
        {
            ArrayPool<byte>.Shared.Return(_current);
            _current = ArrayPool<byte>.Shared.Rent(nextSize);
        }
    }

    private async Task WriteLoopAsync()
    {
        using var timer = new PeriodicTimer(FlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                if (!WritePending())
                {
                    // Nothing was logged for an interval: stop ticking until the next event wakes the loop.
                    timer.Period = Timeout.InfiniteTimeSpan;
                    await _wake.WaitAsync(_stopping.Token);
                    timer.Period = FlushInterval;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        WritePending();
    }

    // Writes everything buffered; false when there was nothing to write, and then the writer is marked asleep.
    private bool WritePending()
    {
        long dropped;
        lock (_gate)
        {
            if (_currentLength == 0 && _filled.Count == 0 && _dropped == 0)
            {
                _writerAsleep = true;
                return false;
            }

            SealCurrent(BufferSize);
            dropped = _dropped;
            _dropped = 0;
        }

        while (true)
        {
            (byte[] Buffer, int Length) next;
            lock (_gate)
            {
                if (!_filled.TryDequeue(out next))
                {
                    break;
                }
            }

            try
            {
                _output.Write(next.Buffer, 0, next.Length);
            }
            catch (IOException)
            {
                // Standard output is gone (a closed pipe): nothing else could report it either.
            }

            lock (_gate)
            {
                _pendingBytes -= next.Length;
            }

            ArrayPool<byte>.Shared.Return(next.Buffer);
        }

        if (dropped > 0)
        {
            WriteDroppedNotice(dropped);
        }

        try
        {
            _output.Flush();
        }
        catch (IOException)
        {
        }

        return true;
    }

    private void WriteDroppedNotice(long dropped)
    {
        var notice = $$"""{"@t":"{{DateTimeOffset.UtcNow:O}}","@m":"{{dropped}} log events were dropped: standard output did not keep up","@l":"Warning","Dropped":{{dropped}},"SourceContext":"{{typeof(BufferedConsoleSink).FullName}}"}""" + "\n";
        try
        {
            _output.Write(Encoding.UTF8.GetBytes(notice));
        }
        catch (IOException)
        {
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _stopping.Cancel();
        _writer.GetAwaiter().GetResult();
        _stopping.Dispose();
        _wake.Dispose();
        _output.Dispose();
    }
}
