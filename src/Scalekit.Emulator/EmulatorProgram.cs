using Scalekit.Emulator.Cli;

namespace Scalekit.Emulator;

/// <summary>The command line: serve (default) or mint a token from a running emulator.</summary>
internal static class EmulatorProgram
{
    public static Task<int> Main(string[] args) =>
        args is ["token", .. var rest]
            ? TokenCommand.RunAsync(rest, Console.Out, Console.Error)
            : ServeCommand.RunAsync(args, Console.Out, Console.Error);
}
