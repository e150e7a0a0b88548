using System.Diagnostics.Metrics;
using Api.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests;

/// <summary>Counts the token caches' hits and misses of one API host (its own meters only).</summary>
public sealed class TokenCacheLookups : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _hits;
    private long _misses;
    private long _rejections;

    public TokenCacheLookups(IServiceProvider services)
    {
        var meters = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meters)
                && instrument.Name is ValidatedTokenCache.LookupsInstrument or RejectedTokenCache.HitsInstrument)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == RejectedTokenCache.HitsInstrument)
            {
                Interlocked.Add(ref _rejections, value);
                return;
            }

            foreach (var tag in tags)
            {
                if (tag is { Key: "result", Value: "hit" })
                {
                    Interlocked.Add(ref _hits, value);
                }
                else if (tag is { Key: "result", Value: "miss" })
                {
                    Interlocked.Add(ref _misses, value);
                }
            }
        });
        _listener.Start();
    }

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Requests answered from the rejected-token cache.</summary>
    public long Rejections => Interlocked.Read(ref _rejections);

    public void Dispose() => _listener.Dispose();
}

/// <summary>The system clock moved by <see cref="Offset"/>, to let cache entries age without waiting.</summary>
public sealed class ShiftedClock : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
