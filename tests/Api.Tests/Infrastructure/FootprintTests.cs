using System.Net;

namespace Api.Tests.Infrastructure;

/// <summary>What an API without Redis or an OTLP endpoint leaves unloaded, after serving a token, a read and a probe.</summary>
public sealed class FootprintTests
{
    [Fact]
    public async Task TheRealProcessLoadsNoAssemblyForFeaturesItIsNotConfiguredToUse()
    {
        using var scalekit = new ScalekitFake();
        await using var api = ApiProcess.StartAgainst(scalekit);
        using var http = await api.ClientAsync(new Tokens(scalekit).User(Tokens.OrgA, ["organizations:read"]));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);

        var loaded = api.LoadedAssemblies();

        // What the requests above needed, so the list is the real one.
        Assert.Contains("Api.dll", loaded);
        Assert.Contains("Microsoft.AspNetCore.Authentication.JwtBearer.dll", loaded);
        // No ConnectionStrings:Redis: the shared state is in memory and the Redis client stays on disk.
        Assert.DoesNotContain("StackExchange.Redis.dll", loaded);
        // No OTEL_EXPORTER_OTLP_ENDPOINT: nothing of OpenTelemetry.
        Assert.DoesNotContain(loaded, name => name.StartsWith("OpenTelemetry", StringComparison.Ordinal));
        // The slim host: no IIS integration and no HTTP/3 transport.
        Assert.DoesNotContain(loaded, name => name.StartsWith("Microsoft.AspNetCore.Server.IIS", StringComparison.Ordinal));
        Assert.DoesNotContain("System.Net.Quic.dll", loaded);
    }
}
