using StackExchange.Redis;

namespace Api.SharedState;

/// <summary>The failures that mean "Redis cannot serve us right now", which every shared-state caller survives.</summary>
internal static class RedisFaults
{
    // RedisCommandException is not a RedisException: the client throws it before sending a command the server cannot
    // take, e.g. for a defaultDatabase the server does not have. A misconfigured Redis is still only Redis unavailable.
    public static bool IsUnavailable(Exception exception) =>
        exception is RedisException or RedisCommandException or TimeoutException;
}
