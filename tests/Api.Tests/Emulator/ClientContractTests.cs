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

    [Fact]
    public async Task GetByExternalIdFindsTheOrganizationIncludingIdsThatNeedEscaping()
    {
        var created = await Client.CreateOrganizationAsync(new ScalekitCreateOrganization { DisplayName = "Escaped", ExternalId = "crm/42 x:y" }, CancellationToken.None);

        var found = await Client.GetOrganizationByExternalIdAsync("crm/42 x:y", CancellationToken.None);

        Assert.Equal(created.Organization!.Id, found.Organization!.Id);
        var missing = await Assert.ThrowsAsync<ApiException>(() => Client.GetOrganizationByExternalIdAsync("nobody", CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ListPagesThroughEveryOrganizationAndFiltersByExternalId()
    {
        for (var i = 0; i < 5; i++)
        {
            await Client.CreateOrganizationAsync(new ScalekitCreateOrganization { DisplayName = $"Paged {i}", ExternalId = $"paged-{i}" }, CancellationToken.None);
        }

        var seen = new List<string>();
        string? pageToken = null;
        do
        {
            var page = await Client.ListOrganizationsAsync(2, pageToken, null, CancellationToken.None);
            Assert.True(page.Organizations!.Count <= 2);
            Assert.Equal(_emulator.Store.Organizations.Count, page.TotalSize);
            seen.AddRange(page.Organizations.Select(o => o.Id!));
            pageToken = string.IsNullOrEmpty(page.NextPageToken) ? null : page.NextPageToken;
        }
        while (pageToken is not null);

        Assert.Equal(_emulator.Store.Organizations.Select(o => o.Id).Order(), seen.Order());
        var filtered = await Client.ListOrganizationsAsync(10, null, "paged-3", CancellationToken.None);
        Assert.Equal("Paged 3", Assert.Single(filtered.Organizations!).DisplayName);
    }

    [Fact]
    public async Task UpdateChangesOnlyTheFieldsSentAndEmptyClears()
    {
        var id = (await Client.CreateOrganizationAsync(new ScalekitCreateOrganization
        {
            DisplayName = "Before", ExternalId = "upd-1", Slug = "before", Metadata = new() { ["tier"] = "gold" },
        }, CancellationToken.None)).Organization!.Id!;

        var updated = await Client.UpdateOrganizationAsync(id, new ScalekitUpdateOrganization { DisplayName = "After", Slug = "" }, CancellationToken.None);

        Assert.Equal("After", updated.Organization!.DisplayName);
        Assert.True(string.IsNullOrEmpty(updated.Organization.Slug));
        Assert.Equal("upd-1", updated.Organization.ExternalId);
        Assert.Equal("gold", updated.Organization.Metadata!["tier"]);
        Assert.Equal("After", _emulator.Store.Find(id)!.DisplayName);
    }

    [Fact]
    public async Task DeleteRemovesTheOrganization()
    {
        var id = (await Client.CreateOrganizationAsync(new ScalekitCreateOrganization { DisplayName = "Doomed" }, CancellationToken.None)).Organization!.Id!;

        await Client.DeleteOrganizationAsync(id, CancellationToken.None);

        Assert.Null(_emulator.Store.Find(id));
        var gone = await Assert.ThrowsAsync<ApiException>(() => Client.DeleteOrganizationAsync(id, CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task SettingsToggleFeatures()
    {
        var updated = await Client.UpdateOrganizationSettingsAsync(SeedData.GlobexOrganizationId, new ScalekitOrganizationSettings
        {
            Features = [new ScalekitFeature { Name = "sso", Enabled = true }],
        }, CancellationToken.None);

        Assert.Contains(updated.Organization!.Settings!.Features!, f => f.Name == "sso" && f.Enabled == true);
        Assert.Contains(_emulator.Store.Find(SeedData.GlobexOrganizationId)!.Features, f => f.Name == "sso" && f.Enabled);
    }

    [Fact]
    public async Task APortalLinkIsGeneratedWithAndWithoutFeatures()
    {
        var plain = await Client.GeneratePortalLinkAsync(SeedData.AcmeOrganizationId, null, CancellationToken.None);
        var scoped = await Client.GeneratePortalLinkAsync(SeedData.AcmeOrganizationId, ["sso", "dir_sync"], CancellationToken.None);

        Assert.StartsWith("lnk_", plain.Link!.Id);
        Assert.StartsWith("https://", plain.Link.Location);
        Assert.NotNull(Api.Organizations.OrganizationMapping.ParseTimestamp(scoped.Link!.ExpireTime));
        var missing = await Assert.ThrowsAsync<ApiException>(() => Client.GeneratePortalLinkAsync("org_404404404", null, CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
