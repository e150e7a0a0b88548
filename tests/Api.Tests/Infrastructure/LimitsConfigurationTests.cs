using Api.Idempotency;
using Api.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Api.Tests.Infrastructure;

public sealed class LimitsConfigurationTests
{
    [Fact]
    public void TheDefaultsAreValid()
    {
        Assert.True(new RateLimitingOptionsValidator().Validate(null, new RateLimitingOptions()).Succeeded);
        Assert.True(new IdempotencyOptionsValidator().Validate(null, new IdempotencyOptions()).Succeeded);
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
        var options = new IdempotencyOptions { KeyLifetime = TimeSpan.FromMinutes(1), InFlightTimeout = TimeSpan.FromMinutes(5) };

        var failure = new IdempotencyOptionsValidator().Validate(null, options).FailureMessage;

        Assert.Contains("Idempotency:InFlightTimeout", failure);
    }

    [Fact]
    public void AKeyLifetimeBeyondThirtyDaysIsRejectedNamingTheKey()
    {
        // "now + lifetime" past DateTimeOffset.MaxValue failed every keyed create with a 500.
        var huge = new IdempotencyOptions { KeyLifetime = TimeSpan.FromDays(10_000_000) };
        var longest = new IdempotencyOptions { KeyLifetime = TimeSpan.FromDays(30) };

        var failure = new IdempotencyOptionsValidator().Validate(null, huge).FailureMessage;

        Assert.Contains("Idempotency:KeyLifetime", failure);
        Assert.True(new IdempotencyOptionsValidator().Validate(null, longest).Succeeded);
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
}
