using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Scalekit.Emulator;

namespace Api.LocalDevelopment;

/// <summary>
/// Once the API listens, prints ready-to-paste curl commands with persona tokens for the embedded emulator.
/// Written to the console directly (not the log pipeline): these are local, Development-only tokens.
/// </summary>
internal sealed class LocalEmulatorBanner(LocalEmulatorHost host, IServer server, IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Print);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await host.DisposeAsync();

    private void Print()
    {
        if (host.Emulator is not { } emulator)
        {
            return;
        }

        var api = (server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost:5080").TrimEnd('/');
        Console.Out.Write(Render(emulator, api));
        Console.Out.Flush();
    }

    internal static string Render(ScalekitEmulator emulator, string api)
    {
        var acme = SeedData.AcmeOrganizationId;
        var globex = SeedData.GlobexOrganizationId;
        var personas = emulator.Personas(LocalScalekitEmulator.LocalAudience).ToDictionary(p => p.Name, StringComparer.Ordinal);
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine($"Local Scalekit emulator: {emulator.BaseUrl.ToString().TrimEnd('/')} (Development only; set Scalekit:EnvironmentUrl to use a real environment).");
        text.AppendLine($"API: {api}   OpenAPI: {api}/openapi/v1.json   Docs: {api}/scalar");
        text.AppendLine("Persona tokens (valid 24 h). Try:");
        Example(text, personas, "member", $"curl -s {api}/organizations/{acme} -H \"Authorization: Bearer {{0}}\"", "reads its own organization (200)");
        Example(text, personas, "admin", $"curl -s {api}/organizations -H \"Authorization: Bearer {{0}}\" -H \"Content-Type: application/json\" -d '{{{{\"displayName\":\"Initech\"}}}}'", "creates an organization (201)");
        Example(text, personas, "other-org-member", $"curl -s {api}/organizations/{acme} -H \"Authorization: Bearer {{0}}\"", "another organization's member: 404, Scalekit not called");
        Example(text, personas, "m2m", $"curl -s {api}/organizations/{acme} -H \"Authorization: Bearer {{0}}\"", "machine-to-machine token with scopes (200)");
        Example(text, personas, "platform", $"curl -s {api}/organizations/{globex} -H \"Authorization: Bearer {{0}}\"", "platform service with organizations:read_all (200)");
        text.AppendLine($"Mint your own: dotnet run --project src/Scalekit.Emulator -- token --url {emulator.BaseUrl.ToString().TrimEnd('/')} --aud {LocalScalekitEmulator.LocalAudience} --oid {acme} --permission organizations:read");
        text.AppendLine();
        return text.ToString();
    }

    private static void Example(StringBuilder text, Dictionary<string, Persona> personas, string name, string curl, string what)
    {
        if (!personas.TryGetValue(name, out var persona))
        {
            return;
        }

        text.AppendLine($"  # {name}: {persona.Description}; {what}");
        text.AppendLine("  " + string.Format(System.Globalization.CultureInfo.InvariantCulture, curl, persona.Token));
    }
}
