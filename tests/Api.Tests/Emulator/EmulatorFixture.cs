using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Scalekit.Emulator;

namespace Api.Tests.Emulator;

/// <summary>One emulator on a random port per test class, plus HTTP helpers. Tests that change keys or tokens start their own.</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    public ScalekitEmulator Emulator { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Emulator = await ScalekitEmulator.StartAsync(new EmulatorOptions());
        Http = new HttpClient { BaseAddress = Emulator.BaseUrl };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
    }

    /// <summary>A client that carries a management token, as the API's Scalekit client would.</summary>
    public async Task<HttpClient> ManagementClientAsync() => await ManagementClientAsync(Emulator);

    public static async Task<HttpClient> ManagementClientAsync(ScalekitEmulator emulator)
    {
        var client = new HttpClient { BaseAddress = emulator.BaseUrl };
        using var response = await client.PostAsync("/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = emulator.Options.ClientId,
            ["client_secret"] = emulator.Options.ClientSecret,
        }));
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.GetProperty("access_token").GetString());
        return client;
    }
}

internal static class HttpJson
{
    public static async Task<JsonElement> BodyAsync(this HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    public static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    /// <summary>Asserts Scalekit's error shape: gRPC code number, message, and an ErrorInfo detail.</summary>
    public static async Task<JsonElement> AssertScalekitErrorAsync(
        this HttpResponseMessage response, System.Net.HttpStatusCode status, int code, string errorCode)
    {
        Assert.Equal(status, response.StatusCode);
        var body = await response.BodyAsync();
        Assert.Equal(code, body.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        var detail = Assert.Single(body.GetProperty("details").EnumerateArray());
        Assert.Equal("type.googleapis.com/scalekit.v1.errdetails.ErrorInfo", detail.GetProperty("@type").GetString());
        Assert.Equal(errorCode, detail.GetProperty("error_code").GetString());
        return body;
    }

    /// <summary>Asserts a 400 code 3 whose field violations name <paramref name="field"/>.</summary>
    public static async Task AssertFieldViolationAsync(this HttpResponseMessage response, string field)
    {
        var body = await response.AssertScalekitErrorAsync(System.Net.HttpStatusCode.BadRequest, 3, "INVALID_ARGUMENT");
        var violations = body.GetProperty("details")[0].GetProperty("validation_error_info").GetProperty("field_violations");
        Assert.Contains(violations.EnumerateArray(), v => v.GetProperty("field").GetString() == field
            && !string.IsNullOrEmpty(v.GetProperty("description").GetString()));
    }
}
