using System.Globalization;
using Api.Scalekit;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace Api.Idempotency;

/// <summary>The <c>Idempotency</c> section.</summary>
public sealed class IdempotencyOptions
{
    public const string SectionName = "Idempotency";

    /// <summary>How long a key is remembered (its response replayed) after it was first used.</summary>
    public TimeSpan KeyLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a request may hold its key before a retry may take over (as after an unknown outcome). Longer than
    /// the slowest create (see <see cref="IdempotencyOptionsValidator.LongestCreate"/>).
    /// </summary>
    public TimeSpan InFlightTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How many keys the in-memory store (no Redis) keeps at most; a key counts one entry per started
    /// <see cref="InMemoryIdempotencyStore.BytesPerEntry"/> bytes of the response it keeps.
    /// </summary>
    public int MaxEntries { get; set; } = 20_000;
}

internal sealed class IdempotencyOptionsValidator(IConfiguration configuration) : IValidateOptions<IdempotencyOptions>
{
    // Past this, "now + lifetime" can leave DateTimeOffset's range: a lifetime of millions of days started, then
    // failed every keyed create with a 500. Retries come within minutes or hours; 30 days is far beyond them.
    internal static readonly TimeSpan LongestKeyLifetime = TimeSpan.FromDays(30);

    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        var failures = new List<string>();
        var scalekit = ScalekitServiceCollectionExtensions.ApiResilience(configuration);
        if (options.KeyLifetime <= TimeSpan.Zero || options.KeyLifetime > LongestKeyLifetime)
        {
            failures.Add($"{IdempotencyOptions.SectionName}:KeyLifetime must be positive and at most 30.00:00:00, e.g. 1.00:00:00 (24 hours).");
        }

        if (options.InFlightTimeout <= TimeSpan.Zero || options.InFlightTimeout > options.KeyLifetime)
        {
            failures.Add($"{IdempotencyOptions.SectionName}:InFlightTimeout must be positive and at most {IdempotencyOptions.SectionName}:KeyLifetime, e.g. 00:01:00.");
        }
        else if (LongestCreate(scalekit) is { } longest && options.InFlightTimeout <= longest)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"{IdempotencyOptions.SectionName}:InFlightTimeout must be longer than {ScalekitServiceCollectionExtensions.ResilienceSection}:TotalRequestTimeout:Timeout plus {ScalekitServiceCollectionExtensions.ResilienceSection}:AttemptTimeout:Timeout ({longest:c}), the longest a create can wait on Scalekit: a retry with the same Idempotency-Key would take over while the first create may still land."));
        }

        if (options.MaxEntries < 1)
        {
            failures.Add($"{IdempotencyOptions.SectionName}:MaxEntries must be at least 1, e.g. 20000.");
        }

        // The pipeline's rate limiter comes before both timeouts, and a create does not stop when its caller hangs up:
        // queued there, it could wait without bound, and be sent after its key's lease ran out. (A negative one failed
        // every Scalekit call with a 500.)
        if (scalekit.RateLimiter.DefaultRateLimiterOptions.QueueLimit != 0)
        {
            failures.Add($"{ScalekitServiceCollectionExtensions.ResilienceSection}:RateLimiter:DefaultRateLimiterOptions:QueueLimit must be 0: a create queued there waits before its timeouts start, with no bound, so a retry with the same Idempotency-Key could take over while it may still be sent.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// The longest a create can wait on Scalekit while it holds its key: the management-API pipeline's
    /// <c>TotalRequestTimeout</c> plus its <c>AttemptTimeout</c>. A retry that takes over a key whose outcome is unknown
    /// first looks the organization up by its externalId, a GET whose retries the total timeout ends; then it sends the
    /// POST, which is never retried, so one attempt's timeout ends it (the total's, were that shorter). A first attempt
    /// sends only the POST. The management token is awaited inside each attempt (its handler sits inside the pipeline),
    /// as is the one resend after a 401: a slow token fetch uses up an attempt's time but adds none. A 409 to that POST
    /// is followed by one more lookup, but nothing is created after it. The pipeline's rate limiter, outside both
    /// timeouts, queues nothing (a queue is refused above), so no wait comes before they start. Not counted: the
    /// idempotency store's own round trips around the create (with Redis, at most a second each).
    /// A lease no longer than this lets a retry take over while that POST may still land: without an externalId, a
    /// second organization; with one, the retry finds it created after the lease ended and answers 409 as for another's.
    /// </summary>
    /// <returns>
    /// Null when either timeout is beyond the pipeline's own range (a day at most), which its own check names: the sum
    /// of two such values can overflow TimeSpan (a crash with a stack trace instead of that line).
    /// </returns>
    internal static TimeSpan? LongestCreate(HttpStandardResilienceOptions scalekit)
    {
        var (total, attempt) = (scalekit.TotalRequestTimeout.Timeout, scalekit.AttemptTimeout.Timeout);
        if (total > ScalekitServiceCollectionExtensions.LongestResilienceTimeout || attempt > ScalekitServiceCollectionExtensions.LongestResilienceTimeout)
        {
            return null;
        }

        return total + (attempt < total ? attempt : total);
    }
}
