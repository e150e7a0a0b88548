using System.Net.Http.Json;
using System.Text.Json;
using Scalekit.Emulator;

namespace Api.Tests.Emulator;

public sealed class KeyRotationTests
{
    [Fact]
    public async Task RotationSignsWithANewKidAndKeepsTheOldKidPublished()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions());
        using var http = new HttpClient { BaseAddress = emulator.BaseUrl };
        var oldToken = Jwt.Parse(emulator.MintAccessToken(new AccessTokenRequest { Subject = "usr_1" }));

        var newKid = emulator.RotateSigningKey();
        var newToken = Jwt.Parse(emulator.MintAccessToken(new AccessTokenRequest { Subject = "usr_1" }));
        var jwks = await http.GetFromJsonAsync<JsonElement>("/keys");

        Assert.Equal(newKid, newToken.Kid);
        Assert.NotEqual(oldToken.Kid, newToken.Kid);
        Assert.Equal([newKid, oldToken.Kid], jwks.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()));
        Assert.True(oldToken.VerifiesWith(jwks));
        Assert.True(newToken.VerifiesWith(jwks));
    }

    [Fact]
    public async Task RetiringPreviousKeysLeavesOnlyTheNewKeyPublished()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions());
        using var http = new HttpClient { BaseAddress = emulator.BaseUrl };
        var oldToken = Jwt.Parse(emulator.MintAccessToken(new AccessTokenRequest { Subject = "usr_1" }));

        var newKid = emulator.RotateSigningKey(retirePrevious: true);
        var jwks = await http.GetFromJsonAsync<JsonElement>("/keys");

        Assert.Equal(newKid, Assert.Single(jwks.GetProperty("keys").EnumerateArray()).GetProperty("kid").GetString());
        Assert.False(oldToken.VerifiesWith(jwks));
    }
}
