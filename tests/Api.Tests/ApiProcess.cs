using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Api.Tests;

/// <summary>The real API as a separate process (<c>dotnet Api.dll</c>), with its console captured line by line.</summary>
public sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private ApiProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output => string.Join('\n', _lines);

    /// <summary>Starts the API from <paramref name="workingDirectory"/> (default: the test output, which holds appsettings.json).</summary>
    public static ApiProcess Start(IReadOnlyDictionary<string, string> environment, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Api.dll")])
        {
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // Only what the test says: no Scalekit or ASP.NET settings leak in from the machine running the tests.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Scalekit__", StringComparison.Ordinal)
                     || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return new ApiProcess(Process.Start(start)!);
    }

    /// <summary>
    /// Starts the API in Production against <paramref name="scalekit"/> on a free loopback port;
    /// <paramref name="extra"/> adds settings or overrides these; <paramref name="workingDirectory"/> as for <see cref="Start"/>.
    /// </summary>
    public static ApiProcess StartAgainst(ScalekitFake scalekit, IReadOnlyDictionary<string, string>? extra = null, string? workingDirectory = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["Scalekit__EnvironmentUrl"] = scalekit.Url,
            ["Scalekit__ClientId"] = ScalekitFake.ClientId,
            ["Scalekit__ClientSecret"] = ScalekitFake.ClientSecret,
            ["Scalekit__Audiences__0"] = ScalekitFake.Audience,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return Start(environment, workingDirectory);
    }

    /// <summary>Waits for Kestrel's "Now listening on" line and answers the address it names.</summary>
    public async Task<Uri> WaitUntilListeningAsync()
    {
        var listening = await WaitForLineAsync("Now listening on", TimeSpan.FromSeconds(60));
        return new Uri(Regex.Match(listening, @"http://127\.0\.0\.1:\d+").Value);
    }

    /// <summary>A client for the listening API that sends <paramref name="bearer"/> on every request.</summary>
    public async Task<HttpClient> ClientAsync(string bearer)
    {
        var http = new HttpClient { BaseAddress = await WaitUntilListeningAsync() };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return http;
    }

    /// <summary>Waits for a console line containing <paramref name="text"/>; fails with the output so far.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var seen = 0;
        while (true)
        {
            var lines = _lines.ToArray();
            for (; seen < lines.Length; seen++)
            {
                if (lines[seen].Contains(text, StringComparison.Ordinal))
                {
                    return lines[seen];
                }
            }

            if (_process.HasExited && lines.Length == _lines.Count)
            {
                throw new InvalidOperationException($"The API exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
            }

            try
            {
                await _lineArrived.WaitAsync(TimeSpan.FromMilliseconds(200), cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No line with '{text}' within {timeout}:\n{Output}");
            }
        }
    }

    /// <summary>Asks the API to stop as an orchestrator does: SIGTERM (Linux and macOS).</summary>
    public void Terminate()
    {
        if (kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>The file names of the assemblies the process has mapped so far (Linux: <c>/proc/&lt;pid&gt;/maps</c>).</summary>
    public IReadOnlySet<string> LoadedAssemblies() =>
        File.ReadLines($"/proc/{_process.Id}/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[^1].EndsWith(".dll", StringComparison.Ordinal))
            .Select(fields => Path.GetFileName(fields[^1]))
            .ToHashSet(StringComparer.Ordinal);

    private const int SigTerm = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _lineArrived.Dispose();
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
            _lineArrived.Release();
        }
    }
}
