using System.Text;

namespace Api.Tests.Scalekit;

/// <summary>
/// Every body sent to Scalekit carries a <c>Content-Length</c>: some load balancers and WAFs in front of an API refuse a
/// chunked request body (411 Length Required) or mishandle it. The fake is plain <c>http://</c>, so these calls are HTTP/1.1,
/// where a body of unknown length goes chunked.
/// </summary>
public sealed class RequestBodyFramingTests : IClassFixture<ApiFixture>
{
    private readonly ApiFixture _api;
    private readonly HttpClient _admin;

    public RequestBodyFramingTests(ApiFixture api)
    {
        _api = api;
        _api.Fake.Reset();
        _api.Fake.AddOrganization(Tokens.OrgA);
        _admin = _api.Client(_api.Tokens.User(Tokens.OrgA, ["organizations:create"], roles: ["admin"]));
    }

    public static TheoryData<string, string, string> BodyCalls => new()
    {
        { "POST", "/organizations", """{"displayName":"Initech","externalId":"crm-42"}""" },
        { "PATCH", $"/organizations/{Tokens.OrgA}", """{"displayName":"Acme Corp"}""" },
        { "PATCH", $"/organizations/{Tokens.OrgA}", """{"metadata":{"plan":"pro"}}""" },
        { "PATCH", $"/organizations/{Tokens.OrgA}/settings", """{"features":[{"name":"sso","enabled":false}]}""" },
    };

    [Theory]
    [MemberData(nameof(BodyCalls))]
    public async Task ScalekitReceivesTheBodyWithAContentLengthAndNotChunked(string method, string path, string json)
    {
        var response = await _admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        });

        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var call = Assert.Single(_api.Fake.Requests(method, "/api/v1/organizations")).RequestMessage;
        var headers = call.Headers!;
        Assert.False(headers.TryGetValue("Transfer-Encoding", out var coding), $"Transfer-Encoding: {coding}");
        Assert.True(headers.TryGetValue("Content-Length", out var length), "no Content-Length");
        Assert.Equal(Encoding.UTF8.GetByteCount(call.Body!).ToString(System.Globalization.CultureInfo.InvariantCulture), length.Single());
    }
}
