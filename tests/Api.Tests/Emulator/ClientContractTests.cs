using System.Net;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Refit;
using Scalekit.Emulator;

namespace Api.Tests.Emulator;

/// <summary>
/// The API's own Scalekit client (same registration: resilience, management token) against the emulator, route by
/// route, so neither side can drift from the wire contract the other speaks.
/// </summary>
public sealed class ClientContractTests : IAsyncLifetime
{
    private ScalekitEmulator _emulator = null!;
    private IHost _host = null!;

    private IScalekitApi Client => _host.Services.GetRequiredService<IScalekitApi>();

    public async Task InitializeAsync()
    {
        _emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions());
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Scalekit:EnvironmentUrl"] = _emulator.BaseUrl.ToString(),
            ["Scalekit:ClientId"] = _emulator.Options.ClientId,
            ["Scalekit:ClientSecret"] = _emulator.Options.ClientSecret,
            ["Scalekit:Audiences:0"] = "skc_app",
            ["Scalekit:Resilience:Retry:Delay"] = "00:00:00.010",
        });
        builder.AddScalekit();
        _host = builder.Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task CreateThenGetRoundTripsEveryField()
    {
        var created = await Client.CreateOrganizationAsync(new ScalekitCreateOrganization
        {
            DisplayName = "Contract Co",
            ExternalId = "contract-1",
            Metadata = new() { ["plan"] = "pro" },
            Slug = "contract-co",
            LogoUrl = "https://cdn.example.com/c.png",
            RegionCode = "EU",
        }, CancellationToken.None);

        var id = created.Organization!.Id!;
        Assert.NotNull(_emulator.Store.Find(id));
        var fetched = await Client.GetOrganizationAsync(id, CancellationToken.None);

        var organization = fetched.Organization!;
        Assert.Equal("Contract Co", organization.DisplayName);
        Assert.Equal("contract-1", organization.ExternalId);
        Assert.Equal("pro", organization.Metadata!["plan"]);
        Assert.Equal("contract-co", organization.Slug);
        Assert.Equal("https://cdn.example.com/c.png", organization.LogoUrl);
        Assert.Equal("EU", organization.RegionCode);
        Assert.NotNull(Api.Organizations.OrganizationMapping.ParseTimestamp(organization.CreateTime));
        Assert.Equal(1, _emulator.ManagementTokensIssued);
    }

    [Fact]
    public async Task AMissingOrganizationIsA404TheApiMapsToNotFound()
    {
        var error = await Assert.ThrowsAsync<ApiException>(() => Client.GetOrganizationAsync("org_404404404", CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task ScalekitsFieldViolationsMapToCamelCaseErrors()
    {
        var error = await Assert.ThrowsAsync<ApiException>(() => Client.CreateOrganizationAsync(
            new ScalekitCreateOrganization { DisplayName = new string('x', 201) }, CancellationToken.None));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        var problem = (Microsoft.AspNetCore.Http.HttpValidationProblemDetails)UpstreamValidation.ToProblem(error.Content);
        Assert.True(problem.Errors.ContainsKey("displayName"), error.Content);
    }

    [Fact]
    public async Task ADuplicateExternalIdIsA409()
    {
        await Client.CreateOrganizationAsync(new ScalekitCreateOrganization { DisplayName = "One", ExternalId = "dup-1" }, CancellationToken.None);
        var error = await Assert.ThrowsAsync<ApiException>(() => Client.CreateOrganizationAsync(
            new ScalekitCreateOrganization { DisplayName = "Two", ExternalId = "dup-1" }, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
    }

    [Fact]
    public async Task ARevokedManagementTokenIsReplacedAndTheCallSucceeds()
    {
        await Client.GetOrganizationAsync(SeedData.AcmeOrganizationId, CancellationToken.None);
        _emulator.RevokeManagementTokens();

        var organization = await Client.GetOrganizationAsync(SeedData.AcmeOrganizationId, CancellationToken.None);

        Assert.Equal(SeedData.AcmeOrganizationId, organization.Organization!.Id);
        Assert.Equal(2, _emulator.ManagementTokensIssued);
    }
}
