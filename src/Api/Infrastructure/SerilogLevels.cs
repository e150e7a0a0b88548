using Microsoft.Extensions.Options;
using Serilog.Events;

namespace Api.Infrastructure;

/// <summary>
/// The keys of <c>Serilog:MinimumLevel</c> that Serilog would ignore or could not read, one line each, naming the key
/// (never the value). Serilog skips a key it does not know (<c>Defualt</c>, <c>Overide</c>), a category written with
/// <c>__</c> (<c>Override:Microsoft:AspNetCore</c>) and a level past <c>Fatal</c> (<c>6</c>, which silences every
/// event), silently: the level meant kept its shipped value.
/// </summary>
public static class SerilogLevels
{
    public const string Section = "Serilog";

    private const string MinimumLevel = "MinimumLevel", Default = "Default", Override = "Override", ControlledBy = "ControlledBy";

    private static readonly string[] MinimumLevelKeys = [Default, Override, ControlledBy];

    // What Serilog.Settings.Configuration reads under Serilog; anything else there it ignores.
    private static readonly string[] SerilogKeys =
        ["Using", "LevelSwitches", "FilterSwitches", MinimumLevel, "Enrich", "Properties", "Filter", "Destructure", "WriteTo", "AuditTo"];

    private const string Levels = "Verbose, Debug, Information, Warning, Error or Fatal";

    public static IEnumerable<string> Failures(IConfiguration configuration)
    {
        var serilog = configuration.GetSection(Section);
        var levels = serilog.GetSection(MinimumLevel);
        return MisspelledKeys(serilog).Concat(Sinks(serilog)).Concat(Within(levels, serilog.GetSection("LevelSwitches")));
    }

    // The sinks are chosen in code (Observability). Serilog read these all the same, with the console sink's assembly
    // at hand: Serilog__WriteTo__0__Name=Console wrote every event twice, the second copy without the API's escaping.
    private static IEnumerable<string> Sinks(IConfigurationSection serilog) =>
        serilog.GetChildren()
            .Where(child => child.Key.Equals("WriteTo", StringComparison.OrdinalIgnoreCase) || child.Key.Equals("AuditTo", StringComparison.OrdinalIgnoreCase))
            .Select(child => $"{child.Path} is not a setting of this API: it writes every log event to standard output itself (compact JSON outside Development), for your platform to collect.");

    // Serilog's own keys are its to add to: only a near miss of one (MinimumLevl) is named.
    private static IEnumerable<string> MisspelledKeys(IConfigurationSection serilog) =>
        serilog.GetChildren()
            .Where(child => !SerilogKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            .Select(child => KnownSettings.ClosestTo(child.Key, SerilogKeys) is { } meant
                ? $"{child.Path} is not one of Serilog's settings: did you mean {Section}:{meant}?"
                : null)
            .OfType<string>();

    private static IEnumerable<string> Within(IConfigurationSection levels, IConfigurationSection switches)
    {
        // Serilog__MinimumLevel=Debug is Serilog's short form of Default. An empty value is one not given (a test host
        // reports one for the section that holds Default and Override).
        if (!string.IsNullOrEmpty(levels.Value) && !IsLevel(levels.Value))
        {
            yield return NotALevel(levels);
        }

        foreach (var child in levels.GetChildren())
        {
            if (child.Key.Equals(Default, StringComparison.OrdinalIgnoreCase))
            {
                // Serilog throws on an empty Default, where it skips an empty override or MinimumLevel.
                if (child.Value is not null && !IsLevel(child.Value))
                {
                    yield return NotALevel(child);
                }

                foreach (var under in child.GetChildren())
                {
                    yield return $"{under.Path} is not one of Serilog's settings: {child.Path} is a single value.";
                }
            }
            else if (child.Key.Equals(Override, StringComparison.OrdinalIgnoreCase))
            {
                foreach (var failure in Overrides(child, switches))
                {
                    yield return failure;
                }
            }
            else if (child.Key.Equals(ControlledBy, StringComparison.OrdinalIgnoreCase))
            {
                if (!string.IsNullOrEmpty(child.Value) && !IsSwitch(child.Value, switches))
                {
                    yield return $"{child.Path} must name a switch declared under {switches.Path}.";
                }
            }
            else
            {
                var parent = levels.Path + ":";
                yield return KnownSettings.ClosestTo(child.Key, MinimumLevelKeys) is { } meant
                    ? $"{child.Path} is not one of Serilog's settings: did you mean {parent}{meant}?"
                    : $"{child.Path} is not one of Serilog's settings (it takes {parent}{Default}, {parent}{Override}:{{category}}, {parent}{ControlledBy}; see README.md).";
            }
        }
    }

    private static IEnumerable<string> Overrides(IConfigurationSection overrides, IConfigurationSection switches)
    {
        if (!string.IsNullOrEmpty(overrides.Value))
        {
            yield return $"{overrides.Path} is a section: set a category's level ({overrides.Path}:Microsoft.AspNetCore), not a value.";
        }

        foreach (var category in overrides.GetChildren())
        {
            // An empty value is how the environment takes back a shipped override: Serilog skips it.
            if (!string.IsNullOrEmpty(category.Value) && !IsLevel(category.Value) && !IsSwitch(category.Value, switches))
            {
                yield return NotALevel(category);
            }

            // Override__Microsoft__AspNetCore is the category "Microsoft" with a key under it, which Serilog skips.
            foreach (var nested in category.AsEnumerable(makePathsRelative: true).Where(pair => pair.Key.Length > 0 && pair.Value is not null))
            {
                var dotted = $"{category.Key}.{nested.Key.Replace(':', '.')}";
                yield return $"{category.Path}:{nested.Key} is not a category: write it with dots, {overrides.Path}:{dotted} (env {overrides.Path.Replace(":", "__", StringComparison.Ordinal)}__{dotted}).";
            }
        }
    }

    // As Serilog reads a level (names in any case, or their numbers), but only the six it has.
    private static bool IsLevel(string value) =>
        Enum.TryParse<LogEventLevel>(value, ignoreCase: true, out var level) && Enum.IsDefined(level);

    private static bool IsSwitch(string value, IConfigurationSection switches) =>
        switches.GetChildren().Any(declared => declared.Key.Equals(value, StringComparison.OrdinalIgnoreCase)
            || declared.Key.Equals("$" + value, StringComparison.OrdinalIgnoreCase));

    private static string NotALevel(IConfigurationSection key) => $"{key.Path} must be a log level: {Levels}.";
}

/// <summary>
/// <see cref="SerilogLevels"/>' failures; without any, the generic one when Serilog could not read its section all the
/// same (a sink or level switch it could not build).
/// </summary>
internal sealed class LogLevelsValidator(IConfiguration configuration, LogLevelsCheck levels) : IValidateOptions<LogLevelsCheck>
{
    public ValidateOptionsResult Validate(string? name, LogLevelsCheck options)
    {
        var failures = SerilogLevels.Failures(configuration).ToList();
        if (failures.Count == 0 && levels.Unreadable)
        {
            failures.Add($"The {SerilogLevels.Section} section could not be read: check Serilog:MinimumLevel and its overrides, whose values must be log levels (Verbose, Debug, Information, Warning, Error or Fatal).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
