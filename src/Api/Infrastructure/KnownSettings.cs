using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Api.Infrastructure;

public static class KnownSettings
{
    /// <summary>
    /// Fails startup naming each key under <paramref name="section"/> that <typeparamref name="T"/> does not have
    /// (<c>Scalekit:ClientSecrt</c>, <c>RateLimiting:Reads:Limit</c>), and the key it probably meant: the binder ignores
    /// such a key, silently, and the setting the operator meant kept its default. Keys are compared as configuration
    /// compares them, without regard to case. <paramref name="subsections"/> are keys of the section bound to a type of
    /// their own (<c>Scalekit:Resilience</c>).
    /// </summary>
    public static OptionsBuilder<T> ValidateKeysAreKnown<T>(this OptionsBuilder<T> builder, string section, params (string Key, Type Type)[] subsections)
        where T : class
    {
        var name = builder.Name;
        var parts = subsections.ToDictionary(part => part.Key, part => part.Type, StringComparer.OrdinalIgnoreCase);
        builder.Services.AddSingleton<IValidateOptions<T>>(services =>
            new KnownKeysValidator<T>(name, services.GetRequiredService<IConfiguration>().GetSection(section), parts));
        builder.Services.AddOwnSection(section);
        return builder;
    }

    /// <summary>
    /// Counts <paramref name="section"/> among the top-level sections this API reads, so that one named an edit or two
    /// away from it (<c>ConnectionString__Redis</c>) stops startup naming it.
    /// </summary>
    public static IServiceCollection AddOwnSection(this IServiceCollection services, string section)
    {
        services.AddSingleton(new OwnSection(section));
        services.AddOptions<OwnSection>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OwnSection>, SectionNamesValidator>());
        return services;
    }

    /// <summary>One line per key of <paramref name="section"/>, at any depth, that binding it to <paramref name="type"/> would ignore.</summary>
    public static IEnumerable<string> Failures(IConfigurationSection section, Type type, IReadOnlyDictionary<string, Type>? subsections = null)
    {
        IEnumerable<string> given = section.Value is { Length: > 0 } ? [SectionGivenAValue(section, type, subsections)] : [];
        return given.Concat(section.GetChildren().SelectMany(child =>
            subsections?.GetValueOrDefault(child.Key) is { } part ? Failures(child, part)
            : Setting(type, child.Key) is { } setting ? Within(child, setting)
            : [Unknown(child, [.. Settings(type).Select(property => property.Name), .. subsections?.Keys ?? []])]));
    }

    // The keys under one setting of the given type.
    private static IEnumerable<string> Within(IConfigurationSection section, Type type)
    {
        if (IsValue(type))
        {
            // Scalekit:ClientId:0, Caching:OrganizationTtl:Seconds: the binder reads the value alone.
            return section.GetChildren().Select(child => $"{child.Path} is not a setting of this API: {section.Path} is a single value.");
        }

        // A list's entries (0, 1, ...) or a map's names (Authorization:Policies:{Policy}) are any keys, each one element.
        // A list given a single value is ListSettings' to name.
        return ElementType(type) is { } element
            ? section.GetChildren().SelectMany(child => Within(child, element))
            : Failures(section, type);
    }

    internal static string Unknown(IConfigurationSection key, IReadOnlyCollection<string> known)
    {
        var parent = key.Path[..^key.Key.Length];
        return ClosestTo(key.Key, known) is { } meant
            ? $"{key.Path} is not a setting of this API: did you mean {parent}{meant}?"
            : $"{key.Path} is not a setting of this API (it takes {string.Join(", ", known.Select(name => parent + name))}; see README.md).";
    }

    // RateLimiting:Reads=100: the binder finds no keys under it and keeps the defaults.
    private static string SectionGivenAValue(IConfigurationSection section, Type type, IReadOnlyDictionary<string, Type>? subsections) =>
        $"{section.Path} is a section: set its keys ({string.Join(", ", Settings(type).Select(property => property.Name).Concat(subsections?.Keys ?? []).Select(name => $"{section.Path}:{name}"))}), not a value.";

    /// <summary>
    /// The known name closest to <paramref name="key"/>: one edit or two away (one for short names), or the only one
    /// that contains it or that it contains (<c>Limit</c> for <c>PermitLimit</c>); null when none is close.
    /// </summary>
    internal static string? ClosestTo(string key, IReadOnlyCollection<string> known)
    {
        var nearest = Nearest(key, known, length => length < 5 ? 1 : 2);
        if (nearest is not null || key.Length < 3)
        {
            return nearest;
        }

        var containing = known.Where(name => name.Contains(key, StringComparison.OrdinalIgnoreCase)
            || (name.Length >= 3 && key.Contains(name, StringComparison.OrdinalIgnoreCase))).Take(2).ToList();
        return containing.Count == 1 ? containing[0] : null;
    }

    /// <summary>
    /// The top-level section of this API that <paramref name="key"/> misspells: stricter than <see cref="ClosestTo"/>,
    /// since any program's sections share the top level (one edit from six letters on, two from ten; <c>Core</c> is
    /// not taken for <c>Cors</c>).
    /// </summary>
    internal static string? SectionClosestTo(string key, IReadOnlyCollection<string> sections) =>
        Nearest(key, sections, length => length < 6 ? 0 : length < 10 ? 1 : 2);

    /// <summary>
    /// The name among <paramref name="names"/> that <paramref name="key"/> misspells by one edit (two from ten letters):
    /// the section rule, but one edit even for a short name (<c>Rdis</c>, <c>Reddis</c> for <c>Redis</c>), for keys
    /// where any other name is another program's.
    /// </summary>
    internal static string? NameClosestTo(string key, IReadOnlyCollection<string> names) =>
        Nearest(key, names, length => length < 10 ? 1 : 2);

    private static string? Nearest(string key, IReadOnlyCollection<string> known, Func<int, int> allowedEdits) =>
        known
            .Select(name => (Name: name, Distance: Distance(key.ToUpperInvariant(), name.ToUpperInvariant())))
            .Where(candidate => candidate.Distance > 0 && candidate.Distance <= allowedEdits(Math.Min(key.Length, candidate.Name.Length)))
            .OrderBy(candidate => candidate.Distance)
            .Select(candidate => candidate.Name)
            .FirstOrDefault();

    // Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours each count one.
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    private static Type? Setting(Type type, string key) =>
        Settings(type).FirstOrDefault(property => property.Name.Equals(key, StringComparison.OrdinalIgnoreCase))?.PropertyType;

    /// <summary>
    /// The properties the configuration binder sets: public, readable, not indexers; a value needs a public setter
    /// (<c>ScalekitOptions.BaseUri</c>, <c>EffectiveIssuers</c> are computed), an object is bound into the one already
    /// there. Callbacks
    /// (the resilience options' <c>ShouldHandle</c>, <c>OnRetry</c>, ...) cannot come from configuration.
    /// </summary>
    private static IEnumerable<PropertyInfo> Settings(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.GetMethod is { IsPublic: true } && property.GetIndexParameters().Length == 0)
            .Where(property => !typeof(Delegate).IsAssignableFrom(property.PropertyType))
            .Where(property => property.SetMethod is { IsPublic: true }
                || (!IsValue(property.PropertyType) && ElementType(property.PropertyType) is null));

    private static bool IsValue(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying == typeof(string) || underlying.IsPrimitive || underlying.IsEnum
            || TypeDescriptor.GetConverter(underlying).CanConvertFrom(typeof(string));
    }

    // The element of a list or array, or the value of a map keyed by name.
    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var generic = type.IsGenericType ? [type, .. type.GetInterfaces()] : type.GetInterfaces();
        var dictionary = generic.FirstOrDefault(candidate => candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is not null)
        {
            return dictionary.GetGenericArguments()[1];
        }

        return generic.FirstOrDefault(candidate => candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            ?.GetGenericArguments()[0];
    }
}

internal sealed class KnownKeysValidator<T>(string? name, IConfigurationSection section, IReadOnlyDictionary<string, Type> subsections)
    : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? optionsName, T options)
    {
        if (optionsName != name)
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = KnownSettings.Failures(section, typeof(T), subsections).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>A top-level section this API binds (<c>Scalekit</c>, <c>Caching</c>, ...), as its options register it.</summary>
public sealed record OwnSection(string Name)
{
    public OwnSection()
        : this("")
    {
    }
}

/// <summary>
/// A section named an edit or two away from one of this API's (<c>Authorisation__Policies__...</c>,
/// <c>Scalekt__ClientSecret</c>) was bound by nothing, silently. Only sections (keys with keys under them) are
/// compared: the environment feeds every variable to the configuration, and a plain one is not this API's to judge.
/// </summary>
internal sealed class SectionNamesValidator(IConfiguration configuration, IEnumerable<OwnSection> own) : IValidateOptions<OwnSection>
{
    public ValidateOptionsResult Validate(string? name, OwnSection options)
    {
        var names = own.Select(section => section.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var failures = configuration.GetChildren()
            .Where(section => !names.Contains(section.Key, StringComparer.OrdinalIgnoreCase) && section.GetChildren().Any())
            .Select(section => KnownSettings.SectionClosestTo(section.Key, names) is { } meant
                ? $"{section.Key} is not a section of this API: did you mean {meant}?"
                : null)
            .OfType<string>()
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
