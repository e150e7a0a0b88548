using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Api.Tests;

/// <summary>Mints Scalekit-shaped access tokens: real RS256 signatures with the fake's published keys.</summary>
public sealed class Tokens(ScalekitFake fake)
{
    public const string OrgA = "org_100";
    public const string OrgB = "org_200";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public string User(string? oid = OrgA, string[]? permissions = null, string[]? roles = null, Action<Dictionary<string, object>>? customize = null)
    {
        var claims = BaseClaims("usr_" + Guid.NewGuid().ToString("N")[..12], oid);
        claims["client_id"] = ScalekitFake.Audience;
        claims["sid"] = "ses_" + Guid.NewGuid().ToString("N")[..12];
        if (permissions is not null)
        {
            claims["permissions"] = permissions;
        }

        if (roles is not null)
        {
            claims["roles"] = roles;
        }

        customize?.Invoke(claims);
        return Sign(claims);
    }

    /// <summary>Makes a token expired well beyond the clock skew (and consistent: issued and valid before it expired).</summary>
    public static void Expired(Dictionary<string, object> claims)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        claims["iat"] = now - 3600;
        claims["nbf"] = now - 3600;
        claims["exp"] = now - 600;
    }

    public string Machine(string? oid = OrgA, string[]? scopes = null, Action<Dictionary<string, object>>? customize = null)
    {
        var clientId = "m2morg_" + Guid.NewGuid().ToString("N")[..12];
        var claims = BaseClaims(clientId, oid);
        claims["client_id"] = clientId;
        claims["scopes"] = scopes ?? [];
        customize?.Invoke(claims);
        return Sign(claims);
    }

    public string Sign(Dictionary<string, object> claims, TestKey? key = null)
    {
        var signingKey = key ?? fake.SigningKey;
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(signingKey.SecurityKey, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>A token whose header and payload are given verbatim, signed with <paramref name="sign"/>.</summary>
    public static string Compose(object header, Dictionary<string, object> payload, Func<byte[], byte[]>? sign) =>
        Compose(JsonSerializer.Serialize(header), JsonSerializer.Serialize(payload), sign);

    /// <summary>A token whose header and payload are the JSON texts given, byte for byte (duplicate names, escapes).</summary>
    public static string Compose(string headerJson, string payloadJson, Func<byte[], byte[]>? sign)
    {
        var encodedHeader = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(headerJson));
        var encodedPayload = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(payloadJson));
        var signingInput = Encoding.ASCII.GetBytes($"{encodedHeader}.{encodedPayload}");
        var signature = sign is null ? "" : Base64UrlEncoder.Encode(sign(signingInput));
        return $"{encodedHeader}.{encodedPayload}.{signature}";
    }

    public static byte[] SignRs256(RSA rsa, byte[] input) => rsa.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    public Dictionary<string, object> BaseClaims(string subject, string? oid)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = fake.Issuer,
            ["aud"] = new[] { ScalekitFake.Audience },
            ["sub"] = subject,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 3600,
        };
        if (oid is not null)
        {
            claims["oid"] = oid;
        }

        return claims;
    }
}

/// <summary>Claims built inline: <c>BaseClaims(...).With("permissions", ...)</c>.</summary>
internal static class ClaimsExtensions
{
    public static Dictionary<string, object> With(this Dictionary<string, object> claims, string name, object value)
    {
        claims[name] = value;
        return claims;
    }
}
