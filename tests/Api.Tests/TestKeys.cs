using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Api.Tests;

/// <summary>An RSA signing key made for this test run, with its kid.</summary>
public sealed class TestKey
{
    public TestKey(string kid, int bits = 2048)
    {
        Kid = kid;
        Rsa = RSA.Create(bits);
        SecurityKey = new RsaSecurityKey(Rsa) { KeyId = kid };
    }

    public string Kid { get; }

    public RSA Rsa { get; }

    public RsaSecurityKey SecurityKey { get; }

    /// <summary>The public key as a JWKS entry; <paramref name="customize"/> may change or remove its members.</summary>
    public Dictionary<string, object> ToJwk(Action<Dictionary<string, object>>? customize = null)
    {
        var parameters = Rsa.ExportParameters(includePrivateParameters: false);
        var jwk = new Dictionary<string, object>
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["kid"] = Kid,
            ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
            ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
        };
        customize?.Invoke(jwk);
        return jwk;
    }
}
