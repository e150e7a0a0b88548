using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

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
            await using (var api = ApiProcess.Start(new Dictionary<string, string>
            {
                ["HOME"] = home.FullName,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
                ["Scalekit__EnvironmentUrl"] = scalekit.Url,
                ["Scalekit__ClientId"] = ScalekitFake.ClientId,
                ["Scalekit__ClientSecret"] = ScalekitFake.ClientSecret,
                ["Scalekit__Audiences__0"] = ScalekitFake.Audience,
            }))
            {
                var listening = await api.WaitForLineAsync("Now listening on", TimeSpan.FromSeconds(60));
                using var http = new HttpClient { BaseAddress = new Uri(Regex.Match(listening, @"http://127\.0\.0\.1:\d+").Value) };
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
                    new Tokens(scalekit).User(Tokens.OrgA, ["organizations:read"]));
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
