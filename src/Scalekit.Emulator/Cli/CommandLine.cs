namespace Scalekit.Emulator.Cli;

/// <summary>
/// "--name value" pairs; a name may repeat (--role a --role b). Small on purpose: the emulator takes a handful of flags.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    private CommandLine()
    {
    }

    public bool HelpRequested { get; private set; }

    /// <summary>Null and an error message when an argument is unknown or lacks its value.</summary>
    public static CommandLine? Parse(IReadOnlyList<string> args, IReadOnlySet<string> valueOptions, IReadOnlySet<string> flags, out string? error)
    {
        var parsed = new CommandLine();
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                parsed.HelpRequested = true;
            }
            else if (flags.Contains(arg))
            {
                parsed.Add(arg, "true");
            }
            else if (valueOptions.Contains(arg))
            {
                if (i + 1 >= args.Count)
                {
                    error = $"{arg} needs a value.";
                    return null;
                }

                parsed.Add(arg, args[++i]);
            }
            else
            {
                error = $"Unknown argument '{arg}'.";
                return null;
            }
        }

        return parsed;
    }

    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var values) ? values : [];

    public string? Last(string name) => _values.TryGetValue(name, out var values) ? values[^1] : null;

    public bool Has(string name) => _values.ContainsKey(name);

    private void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var values))
        {
            _values[name] = values = [];
        }

        values.Add(value);
    }
}
