using StackExchange.Redis;

namespace Api.SharedState;

/// <summary>
/// The one Redis connection of this process (<c>ConnectionStrings:Redis</c>). Connecting never blocks startup and
/// never throws: while Redis is down commands fail fast, and the multiplexer reconnects on its own.
/// </summary>
public sealed class RedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;

    public RedisConnection(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = Math.Min(options.ConnectTimeout, 2000);
        options.AsyncTimeout = Math.Min(options.AsyncTimeout, 1000);
        options.SyncTimeout = Math.Min(options.SyncTimeout, 1000);
        options.ClientName ??= "organizations-api";
        _connection = new(() => ConnectionMultiplexer.ConnectAsync(options));
    }

    public async Task<IDatabase> DatabaseAsync() => (await _connection.Value).GetDatabase();

    public async Task<ISubscriber> SubscriberAsync() => (await _connection.Value).GetSubscriber();

    /// <summary>
    /// Undoes a write that got no answer in time. The client sent it all the same, and a Redis slow for a moment (a
    /// pause, a long command) runs it afterwards: <paramref name="undoScript"/> is queued right behind it on the same
    /// connection, so it runs after it. Fire-and-forget: nothing waits on the Redis that just failed to answer, and if
    /// the connection is gone, neither was sent.
    /// </summary>
    public async Task UndoUnansweredAsync(string undoScript, RedisKey key, RedisValue value)
    {
        try
        {
            var database = await DatabaseAsync();
            await database.ScriptEvaluateAsync(undoScript, [key], [value], CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex) || ex is ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await (await _connection.Value).DisposeAsync();
        }
    }
}
