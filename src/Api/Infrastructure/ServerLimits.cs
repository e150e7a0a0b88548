using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Api.Infrastructure;

public static partial class ServerLimits
{
    public const string SectionName = "Kestrel:Limits";

    // Sub-sections of plain values, checked key by key so a mistake is named by its own key.
    private static readonly Dictionary<string, Type> Sections = new(StringComparer.OrdinalIgnoreCase)
    {
        [nameof(KestrelServerLimits.Http2)] = typeof(Http2Limits),
        [nameof(KestrelServerLimits.Http3)] = typeof(Http3Limits),
    };

    /// <summary>
    /// Kestrel's limits from <c>Kestrel:Limits</c> (<c>MaxConcurrentConnections</c>, <c>MaxRequestHeadersTotalSize</c>,
    /// <c>KeepAliveTimeout</c>, <c>Http2:*</c> ...), the keys ASP.NET Core documents. The host reads only Kestrel's
    /// endpoints and certificates from that section, so these were silently ignored. A key left out keeps Kestrel's
    /// default; a key Kestrel does not have, or a value out of its range, stops startup naming the key (<see cref="Verify"/>).
    /// </summary>
    public static IServiceCollection AddServerLimits(this IServiceCollection services)
    {
        services.AddOptions<KestrelServerOptions>()
            .Configure<IConfiguration>((kestrel, configuration) =>
            {
                var section = configuration.GetSection(SectionName);
                // A section with a mistake is left unbound (Kestrel would throw from inside the host's build, with a
                // stack trace and no key): Verify stops startup naming it.
                if (Failures(section).Count == 0)
                {
                    section.Bind(kestrel.Limits, binder => binder.ErrorOnUnknownConfiguration = true);
                    kestrel.Limits.MinRequestBodyDataRate = DataRate(section.GetSection(nameof(KestrelServerLimits.MinRequestBodyDataRate)), kestrel.Limits.MinRequestBodyDataRate);
                    kestrel.Limits.MinResponseDataRate = DataRate(section.GetSection(nameof(KestrelServerLimits.MinResponseDataRate)), kestrel.Limits.MinResponseDataRate);
                }
            });
        return services;
    }

    /// <summary>
    /// Throws the mistakes in <c>Kestrel:Limits</c>, and in the endpoints' <c>Protocols</c>, as a validation failure,
    /// which <see cref="StartupChecks"/> reports. Not an options check run on start: the server, and its options, are
    /// built with the host, before any such check.
    /// </summary>
    public static void Verify(IConfiguration configuration)
    {
        List<string> failures = [.. Failures(configuration.GetSection(SectionName)), .. ProtocolFailures(configuration)];
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(SectionName, typeof(KestrelServerLimits), failures);
        }
    }

    private const HttpProtocols AnyProtocols = HttpProtocols.Http1 | HttpProtocols.Http2 | HttpProtocols.Http3;

    // Kestrel parses Protocols itself and ignores a value it cannot read, silently: the endpoint then spoke its
    // defaults (no cleartext HTTP/2, for one).
    private static IEnumerable<string> ProtocolFailures(IConfiguration configuration) =>
        configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(endpoint => endpoint.GetSection("Protocols"))
            .Prepend(configuration.GetSection("Kestrel:EndpointDefaults:Protocols"))
            .Where(protocols => protocols.Value is { Length: > 0 } value && !IsProtocols(value))
            .Select(protocols => $"{protocols.Path} must be one of Http1, Http2, Http1AndHttp2 (the default), Http3 or Http1AndHttp2AndHttp3.");

    private static bool IsProtocols(string value) =>
        Enum.TryParse<HttpProtocols>(value, ignoreCase: true, out var protocols)
        && protocols != HttpProtocols.None && (protocols & ~AnyProtocols) == 0;

    /// <summary>One line per key of <paramref name="section"/> that Kestrel would not take, naming the key.</summary>
    public static IReadOnlyList<string> Failures(IConfigurationSection section)
    {
        var failures = new List<string>();
        foreach (var key in section.GetChildren())
        {
            if (key.Key.Equals(nameof(KestrelServerLimits.MaxRequestBodySize), StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"{key.Path} is not used: this API limits request bodies to 64 KiB itself (413 above). Remove it.");
            }
            else if (Sections.TryGetValue(key.Key, out var type))
            {
                if (key.Value is not null)
                {
                    failures.Add($"{key.Path} is a section: set its keys ({key.Path}:MaxRequestHeaderFieldSize, ...), not a value.");
                }

                failures.AddRange(key.GetChildren().Select(inner => Failure(inner, type)).OfType<string>());
            }
            else if (Failure(key, typeof(KestrelServerLimits)) is { } failure)
            {
                failures.Add(failure);
            }
            else if (DataRates.Contains(key.Key) && DataRateFailure(key) is { } rateFailure)
            {
                failures.Add(rateFailure);
            }
        }

        return failures;
    }

    /// <summary>Why <paramref name="key"/>, bound alone onto a fresh <paramref name="owner"/>, fails; null when it binds.</summary>
    private static string? Failure(IConfigurationSection key, Type owner)
    {
        if (owner.GetProperty(key.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is null)
        {
            var limits = owner.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(property => property.Name).ToList();
            return KnownSettings.ClosestTo(key.Key, limits) is { } meant
                ? $"{key.Path} is not one of Kestrel's limits: did you mean {key.Path[..^key.Key.Length]}{meant}?"
                : $"{key.Path} is not one of Kestrel's limits (see README.md).";
        }

        var alone = new ConfigurationBuilder().AddInMemoryCollection(key.AsEnumerable()).Build().GetSection(SectionName);
        try
        {
            alone.Bind(new KestrelServerLimits(), binder => binder.ErrorOnUnknownConfiguration = true);
            return null;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TargetInvocationException or ArgumentException)
        {
            return $"{key.Path} cannot be used: {WithoutParameterName(ex.GetBaseException().Message)}";
        }
    }

    // MinDataRate's BytesPerSecond and GracePeriod have no setters: the binder left them as they were, silently (a
    // configured rate never applied). Read here, a key left out keeps Kestrel's default (240 bytes/s after 5 s, the
    // same for both rates).
    private static readonly MinDataRate KestrelDefaultRate = new KestrelServerLimits().MinRequestBodyDataRate!;

    private static readonly HashSet<string> DataRates = new(StringComparer.OrdinalIgnoreCase)
    {
        nameof(KestrelServerLimits.MinRequestBodyDataRate),
        nameof(KestrelServerLimits.MinResponseDataRate),
    };

    private static MinDataRate? DataRate(IConfigurationSection rate, MinDataRate? current)
    {
        if (!rate.GetChildren().Any())
        {
            return current;
        }

        var fallback = current ?? KestrelDefaultRate;
        var bytesPerSecond = rate[nameof(MinDataRate.BytesPerSecond)] is { } bytes
            ? double.Parse(bytes, NumberStyles.Float, CultureInfo.InvariantCulture)
            : fallback.BytesPerSecond;
        var gracePeriod = rate[nameof(MinDataRate.GracePeriod)] is { } grace
            ? TimeSpan.Parse(grace, CultureInfo.InvariantCulture)
            : fallback.GracePeriod;
        return new MinDataRate(bytesPerSecond, gracePeriod);
    }

    private static string? DataRateFailure(IConfigurationSection rate)
    {
        try
        {
            _ = DataRate(rate, current: null);
            return null;
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            return $"{rate.Path} cannot be used: {ex.Message}";
        }
        catch (ArgumentOutOfRangeException ex)
        {
            var key = ex.ParamName is "gracePeriod" ? nameof(MinDataRate.GracePeriod) : nameof(MinDataRate.BytesPerSecond);
            return $"{rate.Path}:{key} cannot be used: {WithoutParameterName(ex.Message)}";
        }
    }

    // "Value must be a positive number. (Parameter 'value')": the parameter is the setter's, not a key anyone set.
    private static string WithoutParameterName(string message) => ParameterName().Replace(message, "");

    [GeneratedRegex(@" \(Parameter '[^']*'\)")]
    private static partial Regex ParameterName();
}
