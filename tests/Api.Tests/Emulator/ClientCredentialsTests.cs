using System.Net;
using System.Net.Http.Headers;
using Scalekit.Emulator;

namespace Api.Tests.Emulator;

public sealed class ClientCredentialsTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)));

    [Fact]
    public async Task ConfiguredCredentialsGetABearerTokenWithScalekitsResponseShape()
    {
        using var response = await fixture.Http.PostAsync("/oauth/token", Form(
            ("grant_type", "client_credentials"),
            ("client_id", EmulatorOptions.DefaultClientId),
            ("client_secret", EmulatorOptions.DefaultClientSecret)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoStore);
        var body = await response.BodyAsync();
        Assert.False(string.IsNullOrEmpty(body.GetProperty("access_token").GetString()));
        Assert.Equal("Bearer", body.GetProperty("token_type").GetString());
        Assert.Equal(86399, body.GetProperty("expires_in").GetInt32());
        Assert.Equal("openid", body.GetProperty("scope").GetString());
    }

    [Theory]
    [InlineData(EmulatorOptions.DefaultClientId, "wrong-secret")]
    [InlineData("skc_someone_else", EmulatorOptions.DefaultClientSecret)]
    public async Task WrongCredentialsAreRejectedWith401InvalidClient(string clientId, string clientSecret)
    {
        using var response = await fixture.Http.PostAsync("/oauth/token", Form(
            ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", clientSecret)));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.BodyAsync();
        Assert.Equal("invalid_client", body.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("error_description").GetString()));
    }

    [Theory]
    [InlineData("", "invalid_request")]
    [InlineData("password", "unsupported_grant_type")]
    [InlineData("client_credentials", "invalid_request")]
    public async Task BadGrantTypeOrMissingCredentialsAreRejectedWith400(string grantType, string error)
    {
        using var response = await fixture.Http.PostAsync("/oauth/token", Form(
            ("grant_type", grantType), ("client_id", EmulatorOptions.DefaultClientId)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, (await response.BodyAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task CredentialsSentAsJsonInsteadOfAFormAreRejectedWith400()
    {
        using var response = await fixture.Http.PostAsync("/oauth/token", HttpJson.Json(
            $$"""{"grant_type":"client_credentials","client_id":"{{EmulatorOptions.DefaultClientId}}","client_secret":"{{EmulatorOptions.DefaultClientSecret}}"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request", (await response.BodyAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task ManagementApiWithoutABearerTokenAnswers401Code16()
    {
        using var response = await fixture.Http.GetAsync("/api/v1/organizations");

        await response.AssertScalekitErrorAsync(HttpStatusCode.Unauthorized, 16, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task ManagementApiWithAnUnknownTokenAnswers401Code16()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/organizations/{SeedData.AcmeOrganizationId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-token-it-issued");

        using var response = await fixture.Http.SendAsync(request);

        await response.AssertScalekitErrorAsync(HttpStatusCode.Unauthorized, 16, "UNAUTHENTICATED");
    }

    [Fact]
    public async Task AnAccessTokenIsNotAManagementToken()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/organizations");
        var accessToken = fixture.Emulator.Personas(EmulatorOptions.DefaultClientId)[1].Token;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);

        using var response = await fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task RevokedManagementTokensAnswer401UntilTheClientFetchesANewOne()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions());
        using var stale = await EmulatorFixture.ManagementClientAsync(emulator);

        emulator.RevokeManagementTokens();
        using var rejected = await stale.GetAsync("/api/v1/organizations");
        using var fresh = await EmulatorFixture.ManagementClientAsync(emulator);
        using var accepted = await fresh.GetAsync("/api/v1/organizations");

        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(2, emulator.ManagementTokensIssued);
    }

    [Fact]
    public async Task ConfiguredManagementTokenLifetimeIsTheExpiresIn()
    {
        await using var emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions
        {
            ClientId = "skc_custom",
            ClientSecret = "custom_secret",
            ManagementTokenLifetime = TimeSpan.FromSeconds(90),
        });
        using var http = new HttpClient { BaseAddress = emulator.BaseUrl };

        using var response = await http.PostAsync("/oauth/token", Form(
            ("grant_type", "client_credentials"), ("client_id", "skc_custom"), ("client_secret", "custom_secret")));

        Assert.Equal(90, (await response.BodyAsync()).GetProperty("expires_in").GetInt32());
    }
}
