using Api.Auth;
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
            EndpointPolicyCheck.Verify(app);
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync("The API cannot start: its configuration is incomplete or invalid.");
            foreach (var failure in ex.Failures)
            {
                await Console.Error.WriteLineAsync($"  - {failure}");
            }

            await Console.Error.WriteLineAsync("Set these in appsettings.json, environment variables (Section__Key) or user-secrets; see README.md.");
            return 1;
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"The API cannot start: {ex.Message}");
            return 1;
        }
    }
}
