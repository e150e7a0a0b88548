using Api.Idempotency;
using Api.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Api.Tests.Infrastructure;

public sealed class LimitsConfigurationTests
{
    [Fact]
    public void TheDefaultsAreValid()
    {
        Assert.True(new RateLimitingOptionsValidator().Validate(null, new RateLimitingOptions()).Succeeded);
        // With no Scalekit:Resilience section the library's own timeouts apply (30 s total, 10 s per attempt).
        Assert.Null(IdempotencyFailure([]));
    }

    [Fact]
    public void ARateLimitWithoutPermitsOrWindowIsRejectedNamingTheKey()
    {
        var options = new RateLimitingOptions { Writes = new CallerLimit { PermitLimit = 0, Window = TimeSpan.Zero } };

        var failure = new RateLimitingOptionsValidator().Validate(null, options).FailureMessage;

        Assert.Contains("RateLimiting:Writes:PermitLimit", failure);
        Assert.Contains("RateLimiting:Writes:Window", failure);
        Assert.DoesNotContain("RateLimiting:Reads", failure);
    }

    [Fact]
    public void AnInFlightTimeoutBeyondTheKeyLifetimeIsRejectedNamingTheKey()
    {
        var failure = IdempotencyFailure(new() { ["Idempotency:KeyLifetime"] = "00:01:00", ["Idempotency:InFlightTimeout"] = "00:05:00" });

        Assert.Contains("Idempotency:InFlightTimeout", failure);
    }

    [Fact]
    public void AKeyLifetimeBeyondThirtyDaysIsRejectedNamingTheKey()
    {
        // "now + lifetime" past DateTimeOffset.MaxValue failed every keyed create with a 500.
        var failure = IdempotencyFailure(new() { ["Idempotency:KeyLifetime"] = "10000000.00:00:00" });

        Assert.Contains("Idempotency:KeyLifetime", failure);
        Assert.Null(IdempotencyFailure(new() { ["Idempotency:KeyLifetime"] = "30.00:00:00" }));
    }

    [Theory]
    [InlineData("00:00:15", "00:00:05", "00:00:20", "00:00:20")]
    [InlineData("00:00:15", "00:00:05", "00:00:10", "00:00:20")]
    [InlineData("00:01:00", "00:00:10", "00:01:00", "00:01:10")]
    public void AnInFlightTimeoutNoLongerThanTheSlowestCreateIsRejectedNamingTheKeysAndTheBound(
        string totalRequestTimeout, string attemptTimeout, string inFlightTimeout, string bound)
    {
        // A retry with the same key would take over a create still waiting on Scalekit: without an externalId, a
        // second organization once the first create lands.
        var failure = IdempotencyFailure(new()
        {
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = totalRequestTimeout,
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = attemptTimeout,
            ["Idempotency:InFlightTimeout"] = inFlightTimeout,
        });

        Assert.Contains("Idempotency:InFlightTimeout must be longer than", failure);
        Assert.Contains("Scalekit:Resilience:TotalRequestTimeout:Timeout", failure);
        Assert.Contains("Scalekit:Resilience:AttemptTimeout:Timeout", failure);
        Assert.Contains($"({bound})", failure);
    }

    [Theory]
    [InlineData("10675199.02:48:05.4775807", "00:00:05")]
    [InlineData("00:00:15", "10675199.02:48:05.4775807")]
    [InlineData("2.00:00:00", "00:00:05")]
    public void AScalekitTimeoutBeyondItsOwnRangeIsLeftToItsOwnCheck(string totalRequestTimeout, string attemptTimeout) =>
        // TimeSpan.MaxValue plus the attempt timeout overflowed: the process crashed with a stack trace (exit 134)
        // instead of the line the resilience options' check writes for the timeout out of its range.
        Assert.Null(IdempotencyFailure(new()
        {
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = totalRequestTimeout,
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = attemptTimeout,
        }));

    [Fact]
    public void AnInFlightTimeoutJustLongerThanTheSlowestCreateIsAccepted() =>
        Assert.Null(IdempotencyFailure(new()
        {
            ["Scalekit:Resilience:TotalRequestTimeout:Timeout"] = "00:00:15",
            ["Scalekit:Resilience:AttemptTimeout:Timeout"] = "00:00:05",
            ["Idempotency:InFlightTimeout"] = "00:00:20.001",
        }));

    [Fact]
    public void AQueueBeforeTheScalekitTimeoutsIsRejectedNamingItsKey()
    {
        // Queued in the pipeline's rate limiter, a create waits before any timeout starts, and outlives its caller.
        var failure = IdempotencyFailure(new() { ["Scalekit:Resilience:RateLimiter:DefaultRateLimiterOptions:QueueLimit"] = "10" });

        Assert.Contains("Scalekit:Resilience:RateLimiter:DefaultRateLimiterOptions:QueueLimit must be 0", failure);
        Assert.Null(IdempotencyFailure(new() { ["Scalekit:Resilience:RateLimiter:DefaultRateLimiterOptions:QueueLimit"] = "0" }));
    }

    [Fact]
    public void TheShippedSettingsFileKeepsTheInFlightTimeoutAboveTheSlowestCreate()
    {
        // 15 s for a lookup, then 5 s for the create: well within the minute.
        var shipped = new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json")).Build();
        Assert.Null(IdempotencyFailureIn(shipped));
    }

    [Fact]
    public void TheShippedSettingsFileStartsTheApiWithTheDocumentedDefaults()
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake);
        var rateLimits = factory.Services.GetRequiredService<IOptions<RateLimitingOptions>>().Value;
        var idempotency = factory.Services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;

        Assert.Equal((120, TimeSpan.FromMinutes(1)), (rateLimits.Reads.PermitLimit, rateLimits.Reads.Window));
        Assert.Equal((10, TimeSpan.FromMinutes(1)), (rateLimits.Writes.PermitLimit, rateLimits.Writes.Window));
        Assert.Equal(TimeSpan.FromHours(24), idempotency.KeyLifetime);
        Assert.Equal(TimeSpan.FromMinutes(1), idempotency.InFlightTimeout);
    }

    private static string? IdempotencyFailure(Dictionary<string, string?> settings) =>
        IdempotencyFailureIn(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

    // Bound and checked as at startup, so the section is judged against the Scalekit settings beside it.
    private static string? IdempotencyFailureIn(IConfiguration configuration)
    {
        using var services = new ServiceCollection().AddSingleton(configuration).AddIdempotency().BuildServiceProvider();
        try
        {
            _ = services.GetRequiredService<IOptions<IdempotencyOptions>>().Value;
            return null;
        }
        catch (OptionsValidationException failure)
        {
            return failure.Message;
        }
    }
}
