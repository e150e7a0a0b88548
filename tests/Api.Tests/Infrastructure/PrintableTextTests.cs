using Api.Infrastructure;

namespace Api.Tests.Infrastructure;

public sealed class PrintableTextTests
{
    [Theory]
    [InlineData("usr_1\r\nFAKE log line", 128, false, "usr_1FAKE log line")]
    [InlineData("a\u001b[31mred\u007f\u0085\u009f", 128, false, "a[31mred")]
    [InlineData("\t\n\u0000", 128, false, null)]
    // Line and paragraph separators (a line break to some viewers) and the bidirectional overrides and isolates that
    // make a viewer show the text around them in another order.
    [InlineData("usr_1\u2028FAKE\u2029line", 128, false, "usr_1FAKEline")]
    [InlineData("usr_\u202Edetcejer\u202C \u2066x\u2069 \u202A\u202B\u202D\u2067\u2068", 128, false, "usr_detcejer x ")]
    [InlineData("", 128, false, null)]
    [InlineData(null, 128, false, null)]
    [InlineData("abcdef", 3, false, "abc")]
    [InlineData("\u0001a\u0002b\u0003c\u0004d", 3, false, "abc")] // the cap counts what is kept, not what was dropped
    [InlineData("  padded\t ", 200, true, "padded")]
    [InlineData("   ", 200, true, null)]
    [InlineData("  é 日本 😀  ", 200, true, "é 日本 😀")]
    [InlineData("ab   cd", 4, true, "ab")] // capped first, then trimmed
    public void KeepsPrintableCharactersUpToTheCap(string? text, int maxLength, bool trim, string? expected) =>
        Assert.Equal(expected, PrintableText.Clean(text, maxLength, trim));

    [Fact]
    public void CleanTextWithinTheCapIsReturnedWithoutACopy()
    {
        var text = new string('x', 128);

        Assert.Same(text, PrintableText.Clean(text, 128));
    }

    [Fact]
    public void ACapBeyondTheStackBufferStillWorks()
    {
        var text = "\n" + new string('y', 1000);

        Assert.Equal(new string('y', 600), PrintableText.Clean(text, 600));
    }
}
