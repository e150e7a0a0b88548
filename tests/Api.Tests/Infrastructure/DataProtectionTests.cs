using System.Net;

namespace Api.Tests.Infrastructure;

public sealed class DataProtectionTests
{
    [Fact]
    public async Task TheRealProcessWritesNoDataProtectionKeyAndLogsNoWarningAboutOne()
    {
        var home = Directory.CreateTempSubdirectory("api-home-");
        try
        {
            using var scalekit = new ScalekitFake();
            await using (var api = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string> { ["HOME"] = home.FullName }))
            {
                using var http = await api.ClientAsync(new Tokens(scalekit).User(Tokens.OrgA, ["organizations:read"]));
                Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

                api.Terminate();
                Assert.Equal(0, await api.WaitForExitAsync(TimeSpan.FromSeconds(30)));
                Assert.DoesNotContain("XML encryptor", api.Output);
                Assert.DoesNotContain("DataProtection", api.Output);
            }

            Assert.False(Directory.Exists(Path.Combine(home.FullName, ".aspnet")), "a Data Protection key ring was written");
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }
}
