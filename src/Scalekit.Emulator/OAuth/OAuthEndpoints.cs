using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Scalekit.Emulator.Tokens;

namespace Scalekit.Emulator.OAuth;

/// <summary>Discovery, the JWKS and the client-credentials token endpoint.</summary>
internal static class OAuthEndpoints
{
    public static IEndpointRouteBuilder MapOAuth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/openid-configuration", Discovery);
        app.MapGet("/keys", Keys);
        app.MapPost("/oauth/token", IssueManagementToken);
        return app;
    }

    private static Ok<DiscoveryDocument> Discovery(EmulatorAddress address) =>
        TypedResults.Ok(new DiscoveryDocument(
            Issuer: address.Issuer,
            JwksUri: address.Absolute("/keys"),
            TokenEndpoint: address.Absolute("/oauth/token"),
            GrantTypesSupported: ["client_credentials"],
            TokenEndpointAuthMethodsSupported: ["client_secret_post"],
            IdTokenSigningAlgValuesSupported: ["RS256"],
            ResponseTypesSupported: ["code"],
            SubjectTypesSupported: ["public"]));

    private static Ok<KeySet> Keys(SigningKeyRing keys) =>
        TypedResults.Ok(new KeySet([.. keys.Published.Select(SigningKeyRing.ToJwk)]));

    private static async Task<Results<Ok<TokenResponse>, JsonHttpResult<OAuthError>>> IssueManagementToken(
        HttpContext context, EmulatorOptions options, ManagementTokens tokens, CancellationToken ct)
    {
        var request = context.Request;
        if (!request.HasFormContentType)
        {
            return OAuthError.BadRequest("invalid_request", "the body must be application/x-www-form-urlencoded");
        }

        var form = await request.ReadFormAsync(ct);
        var grantType = form["grant_type"].ToString();
        var clientId = form["client_id"].ToString();
        var clientSecret = form["client_secret"].ToString();

        if (grantType.Length == 0)
        {
            return OAuthError.BadRequest("invalid_request", "grant_type is required");
        }

        if (grantType != "client_credentials")
        {
            return OAuthError.BadRequest("unsupported_grant_type", $"grant_type '{grantType}' is not supported");
        }

        if (clientId.Length == 0 || clientSecret.Length == 0)
        {
            return OAuthError.BadRequest("invalid_request", "client_id and client_secret are required");
        }

        // Compare both, in constant time, so a wrong id and a wrong secret look the same.
        var idMatches = FixedTimeEquals(clientId, options.ClientId);
        var secretMatches = FixedTimeEquals(clientSecret, options.ClientSecret);
        if (!(idMatches & secretMatches))
        {
            return TypedResults.Json(
                new OAuthError("invalid_client", "client authentication failed"),
                statusCode: StatusCodes.Status401Unauthorized);
        }

        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new TokenResponse(
            tokens.Issue(), "Bearer", (long)tokens.Lifetime.TotalSeconds, "openid"));
    }

    private static bool FixedTimeEquals(string actual, string expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(actual), Encoding.UTF8.GetBytes(expected));
}

internal sealed record DiscoveryDocument(
    string Issuer,
    string JwksUri,
    string TokenEndpoint,
    IReadOnlyList<string> GrantTypesSupported,
    IReadOnlyList<string> TokenEndpointAuthMethodsSupported,
    IReadOnlyList<string> IdTokenSigningAlgValuesSupported,
    IReadOnlyList<string> ResponseTypesSupported,
    IReadOnlyList<string> SubjectTypesSupported);

internal sealed record KeySet(IReadOnlyList<PublicJwk> Keys);

internal sealed record TokenResponse(string AccessToken, string TokenType, long ExpiresIn, string Scope);

/// <summary>RFC 6749's error body, which is what the token endpoint answers (not Scalekit's gRPC shape).</summary>
internal sealed record OAuthError(string Error, string ErrorDescription)
{
    public static JsonHttpResult<OAuthError> BadRequest(string error, string description) =>
        TypedResults.Json(new OAuthError(error, description), statusCode: StatusCodes.Status400BadRequest);
}
