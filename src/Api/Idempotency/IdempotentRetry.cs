namespace Api.Idempotency;

/// <summary>
/// Tells an idempotent handler whether this request retries a key whose earlier attempt ended with an unknown outcome
/// (timeout, broken connection), so it can look for what that attempt may have created before creating again.
/// Bound as a handler parameter; it reads what <see cref="IdempotencyFilter{TBody}"/> decided before the handler ran.
/// </summary>
public sealed class IdempotentRetry
{
    private readonly HttpContext _http;

    private IdempotentRetry(HttpContext http) => _http = http;

    public bool PreviousOutcomeUnknown => EarlierAttempts is not null;

    /// <summary>
    /// When the key's first attempt began and when the last attempt whose outcome is unknown ended: whatever those
    /// attempts may have created, Scalekit created in between. An organization created before or after is not theirs.
    /// </summary>
    public (DateTimeOffset From, DateTimeOffset Until)? EarlierAttempts => _http.Features.Get<State>()?.EarlierAttempts;

    public static ValueTask<IdempotentRetry?> BindAsync(HttpContext context) => ValueTask.FromResult<IdempotentRetry?>(new(context));

    internal static void Set(HttpContext http, DateTimeOffset from, DateTimeOffset until) => http.Features.Set(new State((from, until)));

    private sealed record State((DateTimeOffset From, DateTimeOffset Until) EarlierAttempts);
}
