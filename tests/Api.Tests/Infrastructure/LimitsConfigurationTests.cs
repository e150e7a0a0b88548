using System.Globalization;
using Api.Idempotency;
using Api.Infrastructure;
using Microsoft.AspNetCore.Server.Kestrel.Core;
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
    public void ARateLimitWindowOfAtMostAnHourIsAccepted()
    {
        var options = new RateLimitingOptions { Reads = new CallerLimit { PermitLimit = 1, Window = TimeSpan.FromHours(1) } };

        Assert.True(new RateLimitingOptionsValidator().Validate(null, options).Succeeded);
        options.Reads.Window += TimeSpan.FromTicks(1);
        Assert.Contains("RateLimiting:Reads:Window", new RateLimitingOptionsValidator().Validate(null, options).FailureMessage);
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
        Assert.Equal(20_000, idempotency.MaxEntries);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    public void AnIdempotencyStoreWithoutRoomIsRejectedNamingTheKey(string maxEntries)
    {
        var failure = IdempotencyFailure(new() { ["Idempotency:MaxEntries"] = maxEntries });

        Assert.NotNull(failure);
        Assert.Contains("Idempotency:MaxEntries", failure);
        Assert.Null(IdempotencyFailure(new() { ["Idempotency:MaxEntries"] = "1" }));
    }

    [Fact]
    public async Task KestrelLimitsFromConfigurationApplyToTheServer()
    {
        // The slim host read only Kestrel's endpoints from configuration: this header block got a 200.
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?> { ["Kestrel:Limits:MaxRequestHeadersTotalSize"] = "4096" });
        using var client = new HttpClient { BaseAddress = factory.StartOnLoopback() };
        client.DefaultRequestHeaders.Add("X-Padding", new string('x', 5000));

        var response = await client.GetAsync("/health/live");

        Assert.Equal(System.Net.HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    [Fact]
    public void KestrelDataRatesFromConfigurationApplyToTheServer()
    {
        // MinDataRate has no setters: the binder kept Kestrel's 240 bytes/s after 5 s, whatever was configured.
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake, new Dictionary<string, string?>
        {
            ["Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond"] = "100",
            ["Kestrel:Limits:MinRequestBodyDataRate:GracePeriod"] = "00:00:10",
            ["Kestrel:Limits:MinResponseDataRate:BytesPerSecond"] = "50",
        });

        var limits = factory.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        Assert.Equal((100d, TimeSpan.FromSeconds(10)), (limits.MinRequestBodyDataRate!.BytesPerSecond, limits.MinRequestBodyDataRate.GracePeriod));
        Assert.Equal((50d, TimeSpan.FromSeconds(5)), (limits.MinResponseDataRate!.BytesPerSecond, limits.MinResponseDataRate.GracePeriod));
    }

    [Fact]
    public void KestrelLimitsLeftOutKeepTheDefaultsTheReadmeNames()
    {
        using var fake = new ScalekitFake();
        using var factory = new ApiFactory(fake);

        var limits = factory.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        Assert.Null(limits.MaxConcurrentConnections);
        Assert.Equal(32 * 1024, limits.MaxRequestHeadersTotalSize);
        Assert.Equal(100, limits.MaxRequestHeaderCount);
        Assert.Equal(8 * 1024, limits.MaxRequestLineSize);
        Assert.Equal(TimeSpan.Parse("00:02:10", CultureInfo.InvariantCulture), limits.KeepAliveTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), limits.RequestHeadersTimeout);
    }

    [Fact]
    public void KestrelLimitsWithinKestrelsRangesAreAccepted() =>
        Assert.Empty(KestrelLimitFailures(new()
        {
            ["Kestrel:Limits:MaxConcurrentConnections"] = "100",
            ["Kestrel:Limits:KeepAliveTimeout"] = "00:00:30",
            ["Kestrel:Limits:MaxRequestHeadersTotalSize"] = "65536",
            ["Kestrel:Limits:Http2:MaxStreamsPerConnection"] = "50",
            ["Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond"] = "100",
            ["Kestrel:Limits:MinRequestBodyDataRate:GracePeriod"] = "00:00:10",
        }));

    [Theory]
    [InlineData("Kestrel:Limits:MaxConcurrentConnections", "0")]
    [InlineData("Kestrel:Limits:MaxRequestHeadersTotalSize", "-1")]
    [InlineData("Kestrel:Limits:KeepAliveTimeout", "soon")]
    [InlineData("Kestrel:Limits:KeepAliveTimeout", "-00:00:05")]
    [InlineData("Kestrel:Limits:Http2:MaxFrameSize", "10")]
    [InlineData("Kestrel:Limits:MaxConcurentConnections", "100")]
    [InlineData("Kestrel:Limits:Http2:MaxStreams", "100")]
    [InlineData("Kestrel:Limits:MaxRequestBodySize", "1000000")]
    [InlineData("Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond", "-1")]
    [InlineData("Kestrel:Limits:MinResponseDataRate:GracePeriod", "00:00:00.500")]
    public void AKestrelLimitKestrelWouldRefuseOrNeverUseIsRejectedNamingTheKey(string key, string value)
    {
        // A value out of Kestrel's range threw from inside the server's start, a typo or an overridden limit did nothing.
        var failure = Assert.Single(KestrelLimitFailures(new() { [key] = value }));

        Assert.StartsWith(key + " ", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", failure, StringComparison.Ordinal);
    }

    private static IReadOnlyList<string> KestrelLimitFailures(Dictionary<string, string?> settings) =>
        ServerLimits.Failures(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(ServerLimits.SectionName));

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
