using System.Diagnostics;
using StackExchange.Redis;

namespace Api.Tests;

/// <summary>A real redis-server on a free loopback port, owned by the test; it can be stopped and started again.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static bool IsInstalled => FindBinary() is not null;

    /// <param name="pickPort">Where to try to listen first (a free loopback port unless given): a test of the retry on a taken port.</param>
    public static Task<RedisServer> StartAsync(Func<int>? pickPort = null) =>
        Loopback.OnFreePort(async port =>
        {
            var server = new RedisServer(port);
            try
            {
                await server.StartAgainAsync();
                return server;
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }, pickPort);

    /// <summary>
    /// Starts redis-server on <see cref="Port"/> and waits until it answers. A port another process took meanwhile is an
    /// error, not a success: a PING there could be answered by someone else's redis-server (another test run's), and the
    /// test would share its keys.
    /// </summary>
    public async Task StartAgainAsync()
    {
        var process = _process = Process.Start(new ProcessStartInfo(FindBinary()!,
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            try
            {
                await using var connection = await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},abortConnect=true,connectTimeout=500,allowAdmin=true");
                var info = await connection.GetServer(ConnectionString).InfoRawAsync("server");
                if (info?.Contains($"process_id:{process.Id}\r", StringComparison.Ordinal) != true)
                {
                    throw new IOException($"Port {Port} is held by another process than the redis-server started here.");
                }

                return;
            }
            catch (RedisConnectionException) when (!timeout.IsCancellationRequested && !process.HasExited)
            {
                await Task.Delay(50, timeout.Token);
            }
            catch (RedisConnectionException) when (process.HasExited)
            {
                throw new IOException($"redis-server exited (code {process.ExitCode}) before it answered on port {Port}: the port was probably taken.");
            }
        }
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    public async Task<IDatabase> DatabaseAsync() =>
        (await ConnectionMultiplexer.ConnectAsync(ConnectionString)).GetDatabase();

    public async Task<IReadOnlyList<string>> KeysAsync(string pattern)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},allowAdmin=true");
        var keys = new List<string>();
        await foreach (var key in connection.GetServer(ConnectionString).KeysAsync(pattern: pattern))
        {
            keys.Add(key.ToString());
        }

        return keys;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
    }

    private static string? FindBinary() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(dir => Path.Combine(dir, "redis-server"))
            .FirstOrDefault(File.Exists);
}

/// <summary>A test that needs redis-server; reported as skipped (not passed) where it is not installed.</summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (!RedisServer.IsInstalled)
        {
            Skip = "redis-server is not installed (.ci/run installs it).";
        }
    }
}
