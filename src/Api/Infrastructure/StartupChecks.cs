using Api.Auth;
using Api.Scalekit;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace Api.Infrastructure;

public static class StartupChecks
{
    /// <summary>
    /// Checks the configuration, then runs the app. A mistake ends the process with the keys to fix and exit code 1,
    /// not a stack trace.
    /// </summary>
    public static async Task<int> RunAsync(WebApplication app)
    {
        try
        {
            // Validate before the host starts, so the failure is reported once, below, without a stack trace.
            app.Services.GetService<IStartupValidator>()?.Validate();
            ServerLimits.Verify(app.Configuration);
            EndpointPolicyCheck.Verify(app);
            await app.RunAsync();
            return 0;
        }
        catch (Exception ex) when (ValidationFailures(ex) is { } failures)
        {
            await WriteFailuresAsync(failures);
            return 1;
        }
        // The resilience library's own cross-field check doubles the attempt timeout: one far beyond its one-day range
        // overflowed there (exit 134, a stack trace) before any range check could name it.
        catch (OverflowException) when (ResilienceTimeoutsOutOfRange(app.Configuration) is { Count: > 0 } failures)
        {
            await WriteFailuresAsync(failures);
            return 1;
        }
        catch (IOException ex)
        {
            // The commonest first-run failure: another process (often a second copy of this one) holds the port.
            var hint = ex.InnerException is AddressInUseException
                ? " Another process is listening there: stop it, or choose another address with --urls (e.g. --urls http://127.0.0.1:5081) or ASPNETCORE_URLS."
                : "";
            await Console.Error.WriteLineAsync($"The API cannot start: {ex.Message}{hint}");
            return 1;
        }
        // An address Kestrel cannot parse ended the process with an unhandled exception (exit code 134).
        catch (FormatException ex) when (IsUnparsableAddress(ex))
        {
            await Console.Error.WriteLineAsync($"The API cannot start: {ex.Message} Check ASPNETCORE_URLS (or --urls) and Kestrel:Endpoints:*:Url, e.g. http://0.0.0.0:8080.");
            return 1;
        }
    }

    internal const string ClosingLine =
        "Fix each one where it is set (appsettings.json, an environment variable Section__Key, or user-secrets): add or correct a setting, rename or remove a key this API does not have; see README.md.";

    private static async Task WriteFailuresAsync(IEnumerable<string> failures)
    {
        await Console.Error.WriteLineAsync("The API cannot start: its configuration is incomplete or invalid.");
        foreach (var failure in failures)
        {
            await Console.Error.WriteLineAsync($"  - {failure}");
        }

        // "Set these" told an operator to set the very key named as not a setting (Scalekit:ClientSecrt): a key this API
        // does not have is fixed by renaming or removing it, where it was set.
        await Console.Error.WriteLineAsync(ClosingLine);
    }

    private static List<string> ResilienceTimeoutsOutOfRange(IConfiguration configuration)
    {
        var options = ScalekitServiceCollectionExtensions.ApiResilience(configuration);
        var section = ScalekitServiceCollectionExtensions.ResilienceSection;
        return new (string Key, TimeSpan Value)[]
            {
                ("TotalRequestTimeout:Timeout", options.TotalRequestTimeout.Timeout),
                ("AttemptTimeout:Timeout", options.AttemptTimeout.Timeout),
                ("CircuitBreaker:SamplingDuration", options.CircuitBreaker.SamplingDuration),
            }
            .Where(setting => setting.Value > ScalekitServiceCollectionExtensions.LongestResilienceTimeout)
            .Select(setting => $"{section}:{setting.Key} must be at most {ScalekitServiceCollectionExtensions.LongestResilienceTimeout:c}.")
            .ToList();
    }

    /// <summary>
    /// Whether <paramref name="ex"/>, ending the host's start, is one <see cref="RunAsync"/> reports in a line of its own
    /// (a Kestrel address that cannot be bound or parsed): the host's own "Hosting failed to start" event for it adds
    /// only a stack trace.
    /// </summary>
    public static bool ReportsStartFailure(Exception ex) => ex is IOException || IsUnparsableAddress(ex);

    private static bool IsUnparsableAddress(Exception ex) =>
        ex is FormatException && ex.TargetSite?.DeclaringType == typeof(BindingAddress);

    /// <summary>
    /// What is wrong with the configuration, one line per mistake: the failures of the options checks (one section's
    /// <see cref="OptionsValidationException"/>, or an <see cref="AggregateException"/> of them when several sections
    /// fail), or a value the binder could not convert. Null for any other exception.
    /// </summary>
    private static IReadOnlyList<string>? ValidationFailures(Exception ex) => ex switch
    {
        OptionsValidationException single => [.. Named(single).Distinct()],
        AggregateException { InnerExceptions: var inner } when inner.Count > 0 && inner.All(e => e is OptionsValidationException) =>
            [.. inner.Cast<OptionsValidationException>().SelectMany(Named).Distinct()],
        InvalidOperationException invalid when UnreadableSetting(invalid) is var (key, type) => [Unreadable(key, type)],
        _ => null,
    };

    // Both Scalekit clients bind Scalekit:Resilience, so one mistake fails both pipelines: named by key, it is one line.
    private static IEnumerable<string> Named(OptionsValidationException ex) =>
        ex.OptionsType == typeof(HttpStandardResilienceOptions)
            ? ex.Failures.Select(failure => ScalekitServiceCollectionExtensions.ResilienceFailure(ex.OptionsName, failure))
            : ex.Failures;

    // A choice of this API's own (Scalekit:Http2) lists its names rather than a type name nobody configures by.
    private static string Unreadable(string key, string type) =>
        typeof(StartupChecks).Assembly.GetType(type) is { IsEnum: true } choice
            ? $"{key} must be one of {string.Join(", ", Enum.GetNames(choice))}."
            : $"{key} cannot be read as {type}.";

    /// <summary>
    /// The key and type of a value the configuration binder could not convert (<c>Scalekit__TokenRefreshMargin=abc</c>),
    /// from its message: "Failed to convert configuration value '…' at '{key}' to type '{type}'." The value itself is
    /// left out, as it may be a secret.
    /// </summary>
    private static (string Key, string Type)? UnreadableSetting(InvalidOperationException ex)
    {
        const string Prefix = "Failed to convert configuration value '", KeyMarker = "' at '", TypeMarker = "' to type '";
        var message = ex.Message;
        var typeAt = message.LastIndexOf(TypeMarker, StringComparison.Ordinal);
        var keyAt = typeAt < 0 ? -1 : message.LastIndexOf(KeyMarker, typeAt, StringComparison.Ordinal);
        if (!message.StartsWith(Prefix, StringComparison.Ordinal) || keyAt < Prefix.Length - 1)
        {
            return null;
        }

        return (message[(keyAt + KeyMarker.Length)..typeAt], message[(typeAt + TypeMarker.Length)..].TrimEnd('.').TrimEnd('\''));
    }
}
