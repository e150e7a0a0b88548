using Api.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Api.Tests.Infrastructure;

public sealed class RetryAfterTests
{
    [Theory]
    [InlineData(0.0, 1)]          // never "retry now"
    [InlineData(0.2, 1)]
    [InlineData(1.0, 1)]
    [InlineData(1.01, 2)]         // rounded up: a client that waits the hint is never early
    [InlineData(30.0, 30)]
    [InlineData(7200.0, 3600)]    // at most an hour
    [InlineData(-5.0, 1)]         // an HTTP date already past
    public void AWaitBecomesWholeSecondsBetweenOneAndAnHour(double seconds, int expected) =>
        Assert.Equal(expected, RetryAfter.Seconds(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void NoHintIsOneSecond() => Assert.Equal(1, RetryAfter.Seconds(null));

    [Fact]
    public void TheHeaderIsWrittenInvariantAndWithinTheSameBounds()
    {
        var response = new DefaultHttpContext().Response;
        RetryAfter.Set(response, 12_000);
        Assert.Equal("3600", response.Headers.RetryAfter.ToString());
        RetryAfter.Set(response, 0);
        Assert.Equal("1", response.Headers.RetryAfter.ToString());
    }
}
