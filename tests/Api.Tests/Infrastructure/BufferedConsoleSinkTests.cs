using System.Text;
using System.Text.Json;
using Api.Infrastructure;
using Serilog;
using Serilog.Formatting.Compact;

namespace Api.Tests.Infrastructure;

public sealed class BufferedConsoleSinkTests
{
    [Fact]
    public void DisposingWritesEveryEventAsOneJsonLineInOrder()
    {
        var output = new RecordingStream();
        using (var logger = LoggerWith(new BufferedConsoleSink(new RenderedCompactJsonFormatter(), output)))
        {
            for (var i = 0; i < 1000; i++)
            {
                logger.Information("Event {Number} with ünïcødé 日本", i);
            }
        }

        var lines = output.Lines();
        Assert.Equal(1000, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var line = JsonDocument.Parse(lines[i]);
            Assert.Equal(i, line.RootElement.GetProperty("Number").GetInt32());
            Assert.Equal($"Event {i} with ünïcødé 日本", line.RootElement.GetProperty("@m").GetString());
        }

        Assert.True(output.Disposed);
    }

    [Fact]
    public async Task AnEventReachesTheOutputWithoutWaitingForTheBufferToFill()
    {
        var output = new RecordingStream();
        using var logger = LoggerWith(new BufferedConsoleSink(new RenderedCompactJsonFormatter(), output));

        logger.Information("Just one {Word}", "event");

        await output.FirstWrite.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("Just one \\\"event\\\"", Assert.Single(output.Lines()));
    }

    [Fact]
    public async Task AfterAQuietIntervalTheWriterSleepsAndTheNextEventWakesIt()
    {
        var output = new RecordingStream();
        using var sink = new BufferedConsoleSink(new RenderedCompactJsonFormatter(), output);
        using var logger = LoggerWith(sink);
        logger.Information("first");
        await output.FirstWrite.WaitAsync(TimeSpan.FromSeconds(10));
        await Poll.UntilAsync(() => sink.WriterAsleep, "the writer sleeps");

        logger.Information("second");

        await Poll.UntilAsync(() => output.Lines().Length == 2, "the second event is written");
        Assert.Contains("second", output.Lines()[1]);
    }

    [Fact]
    public void AnEventLargerThanTheBufferIsWrittenWhole()
    {
        var output = new RecordingStream();
        var large = new string('x', 3 * BufferedConsoleSink.BufferSize);
        using (var logger = LoggerWith(new BufferedConsoleSink(new RenderedCompactJsonFormatter(), output)))
        {
            logger.Information("before");
            logger.Information("{Large}", large);
            logger.Information("after");
        }

        var lines = output.Lines();
        Assert.Equal(3, lines.Length);
        using var middle = JsonDocument.Parse(lines[1]);
        Assert.Equal(large, middle.RootElement.GetProperty("Large").GetString());
        Assert.Contains("after", lines[2]);
    }

    [Fact]
    public void EventsFromManyThreadsAreNeitherLostNorInterleaved()
    {
        var output = new RecordingStream();
        using (var logger = LoggerWith(new BufferedConsoleSink(new RenderedCompactJsonFormatter(), output)))
        {
            Parallel.For(0, 8, thread =>
            {
                for (var i = 0; i < 2000; i++)
                {
                    logger.Information("Thread {Thread} event {Number}", thread, i);
                }
            });
        }

        var seen = output.Lines().Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            return (json.RootElement.GetProperty("Thread").GetInt32(), json.RootElement.GetProperty("Number").GetInt32());
        }).ToHashSet();
        Assert.Equal(8 * 2000, seen.Count);
    }

    [Fact]
    public async Task WhenTheOutputStallsEventsPastTheLimitAreDroppedAndCounted()
    {
        var output = new RecordingStream { Stalled = new TaskCompletionSource() };
        var sink = new BufferedConsoleSink(new RenderedCompactJsonFormatter(), output);
        var logger = LoggerWith(sink);
        logger.Information("first");
        await output.FirstWrite.WaitAsync(TimeSpan.FromSeconds(10)); // the writer is now stuck inside Write

        var filler = new string('y', 10_000);
        const int attempted = 1000; // about 10 MB of text against a 4 MB limit
        for (var i = 0; i < attempted; i++)
        {
            logger.Information("{Filler} {Number}", filler, i);
        }

        output.Stalled.SetResult();
        logger.Dispose();

        var lines = output.Lines();
        var notice = lines.Single(line => line.Contains("were dropped"));
        using var noticeJson = JsonDocument.Parse(notice);
        var dropped = noticeJson.RootElement.GetProperty("Dropped").GetInt64();
        var written = lines.Count(line => line.Contains("\"Filler\""));
        Assert.InRange(written, 1, attempted - 1);
        Assert.Equal(attempted, written + dropped);
        Assert.True(written * (filler.Length + 100) <= BufferedConsoleSink.MaxPendingBytes);
    }

    private static Serilog.Core.Logger LoggerWith(BufferedConsoleSink sink) =>
        new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();

    // Records what is written; optionally holds its first write until released, like a pipe nobody reads.
    private sealed class RecordingStream : Stream
    {
        private readonly MemoryStream _written = new();
        private readonly TaskCompletionSource _firstWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource? Stalled { get; init; }

        public Task FirstWrite => _firstWrite.Task;

        public bool Disposed { get; private set; }

        public string[] Lines()
        {
            lock (_written)
            {
                return Encoding.UTF8.GetString(_written.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (_written)
            {
                _written.Write(buffer);
            }

            _firstWrite.TrySetResult();
            Stalled?.Task.Wait();
        }

        public override void Flush()
        {
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
