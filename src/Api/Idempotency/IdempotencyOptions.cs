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
    /// the slowest create: <c>Scalekit:Resilience:TotalRequestTimeout</c> plus the management-token fetch.
    /// </summary>
    public TimeSpan InFlightTimeout { get; set; } = TimeSpan.FromMinutes(1);
}

internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    // Past this, "now + lifetime" can leave DateTimeOffset's range: a lifetime of millions of days started, then
    // failed every keyed create with a 500. Retries come within minutes or hours; 30 days is far beyond them.
    internal static readonly TimeSpan LongestKeyLifetime = TimeSpan.FromDays(30);

    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        var failures = new List<string>();
        if (options.KeyLifetime <= TimeSpan.Zero || options.KeyLifetime > LongestKeyLifetime)
        {
            failures.Add($"{IdempotencyOptions.SectionName}:KeyLifetime must be positive and at most 30.00:00:00, e.g. 1.00:00:00 (24 hours).");
        }

        if (options.InFlightTimeout <= TimeSpan.Zero || options.InFlightTimeout > options.KeyLifetime)
        {
            failures.Add($"{IdempotencyOptions.SectionName}:InFlightTimeout must be positive and at most {IdempotencyOptions.SectionName}:KeyLifetime, e.g. 00:01:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
