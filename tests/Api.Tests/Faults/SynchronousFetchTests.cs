using System.Net;
using System.Text;
using System.Text.Json;
using Api.Auth;
using Api.Scalekit;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Api.Tests.Faults;

/// <summary>
/// A token or JWKS fetch can complete synchronously (a loaded machine may have the answer buffered before the
/// read is issued). Such a fetch must not stay recorded as "in flight", or every later refresh would get its stale
/// result: a revoked management token would be reused forever, a rotated key never picked up.
/// </summary>
public sealed class SynchronousFetchTests
{
    [Fact]
    public async Task ARevokedManagementTokenIsReplacedEvenWhenTheTokenEndpointAnswersSynchronously()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization("org_1");
        var issued = 0;
        fake.Server.Given(Request.Create().WithPath("/api/v1/organizations/org_1").UsingGet().WithHeader("Authorization", "Bearer sync-2")).AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"organization":{"id":"org_1"}}"""));
        using var factory = new ApiFactory(fake, services: services => services.AddHttpClient(ManagementTokenProvider.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SynchronousHandler(_ =>
                Json(new { access_token = $"sync-{Interlocked.Increment(ref issued)}", token_type = "Bearer", expires_in = 3600 }))));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", new Tokens(fake).Machine(Tokens.OrgA, ["organizations:read_all"]));

        // The first token (sync-1) is refused by Scalekit; the one refresh must fetch sync-2.
        var response = await client.GetAsync("/organizations/org_1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, issued);
    }

    [Fact]
    public async Task ARotatedSigningKeyIsPickedUpEvenWhenTheJwksAnswersSynchronously()
    {
        using var fake = new ScalekitFake();
        fake.AddOrganization(Tokens.OrgA);
        var tokens = new Tokens(fake);
        using var factory = new ApiFactory(fake,
            ApiFactory.NoJwksCooldown,
            services => services.AddHttpClient(SigningKeyStore.HttpClientName)
                .ConfigurePrimaryHttpMessageHandler(() => new SynchronousHandler(_ => Json(new { keys = fake.Keys.Select(k => k.ToJwk()).ToArray() }))));
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(permissions: ["organizations:read"]));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/organizations/{Tokens.OrgA}")).StatusCode);

        fake.RotateKey();
        client.DefaultRequestHeaders.Authorization = new("Bearer", tokens.User(permissions: ["organizations:read"]));
        var response = await client.GetAsync($"/organizations/{Tokens.OrgA}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static HttpResponseMessage Json(object body) =>
        new(HttpStatusCode.OK) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };

    private sealed class SynchronousHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(answer(request));
    }
}
