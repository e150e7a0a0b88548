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

    public bool PreviousOutcomeUnknown => _http.Features.Get<State>()?.PreviousOutcomeUnknown == true;

    /// <summary>
    /// When the key's first attempt began, if known: an organization created before it was not created by any
    /// attempt with this key.
    /// </summary>
    public DateTimeOffset? FirstAttemptAt => _http.Features.Get<State>()?.FirstAttemptAt;

    public static ValueTask<IdempotentRetry?> BindAsync(HttpContext context) => ValueTask.FromResult<IdempotentRetry?>(new(context));

    internal static void Set(HttpContext http, bool previousOutcomeUnknown, DateTimeOffset? firstAttemptAt) =>
        http.Features.Set(new State(previousOutcomeUnknown, firstAttemptAt));

    private sealed record State(bool PreviousOutcomeUnknown, DateTimeOffset? FirstAttemptAt);
}
