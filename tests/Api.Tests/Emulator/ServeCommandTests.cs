using Scalekit.Emulator.Cli;

namespace Api.Tests.Emulator;

public sealed class ServeCommandTests
{
    [Theory]
    [InlineData("--port", "70000")]
    [InlineData("--port", "-1")]
    [InlineData("--http2-port", "70000")]
    [InlineData("--http2-port", "5380")]
    [InlineData("--issuer", "not a url")]
    [InlineData("--issuer", "ftp://127.0.0.1")]
    [InlineData("--client-id", " ")]
    [InlineData("--client-secret", "")]
    [InlineData("--audience", " ")]
    public async Task ServeRejectsAnInvalidOptionValueWithExitCode2NamingTheOption(string option, string value)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exitCode = await ServeCommand.RunAsync([option, value], stdout, stderr);

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout.ToString());
        Assert.StartsWith(option, stderr.ToString(), StringComparison.Ordinal);
    }
}
