using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Scalekit.Emulator;

namespace Api.Tests.Emulator;

public sealed class HostIsolationTests
{
    /// <summary>
    /// WebApplicationFactory finds the API's host by listening for "HostBuilt" events raised in the async flow of the
    /// API's entry point (HostFactoryResolver filters on an AsyncLocal). If the emulator's host raised its events in
    /// that flow, a test factory would capture the emulator instead of the API. This replays that listener.
    /// </summary>
    [Fact]
    public async Task StartingTheEmulatorRaisesNoHostEventsInTheCallersAsyncFlow()
    {
        var observer = new EntryPointHostObserver();
        using var subscription = DiagnosticListener.AllListeners.Subscribe(observer);

        EntryPointHostObserver.InEntryPoint.Value = true;
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions());
        EntryPointHostObserver.InEntryPoint.Value = false;

        Assert.Empty(observer.EventsSeenInEntryPoint);
    }

    /// <summary>The control: a host built in the flow is seen, so the empty list above means something.</summary>
    [Fact]
    public void AHostBuiltInTheCallersAsyncFlowIsSeen()
    {
        var observer = new EntryPointHostObserver();
        using var subscription = DiagnosticListener.AllListeners.Subscribe(observer);

        EntryPointHostObserver.InEntryPoint.Value = true;
        using (new HostBuilder().Build())
        {
            EntryPointHostObserver.InEntryPoint.Value = false;
        }

        Assert.Contains("HostBuilt", observer.EventsSeenInEntryPoint);
    }

    private sealed class EntryPointHostObserver : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
    {
        public static readonly AsyncLocal<bool> InEntryPoint = new();
        private readonly List<IDisposable> _subscriptions = [];

        public List<string> EventsSeenInEntryPoint { get; } = [];

        public void OnNext(DiagnosticListener value)
        {
            if (InEntryPoint.Value && value.Name == "Microsoft.Extensions.Hosting")
            {
                _subscriptions.Add(value.Subscribe(this));
            }
        }

        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (InEntryPoint.Value)
            {
                lock (EventsSeenInEntryPoint)
                {
                    EventsSeenInEntryPoint.Add(value.Key);
                }
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}
