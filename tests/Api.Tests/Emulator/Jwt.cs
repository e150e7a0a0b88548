using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Api.Tests.Emulator;

/// <summary>Just enough JWT handling to check the emulator's tokens independently of its own code.</summary>
internal sealed record Jwt(JsonElement Header, JsonElement Payload, string SigningInput, byte[] Signature)
{
    public static Jwt Parse(string token)
    {
        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        return new Jwt(
            JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement,
            JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement,
            parts[0] + "." + parts[1],
            Base64Url.DecodeFromChars(parts[2]));
    }

    public string Kid => Header.GetProperty("kid").GetString()!;

    /// <summary>True when a key of the JWKS with this token's kid verifies its RS256 signature.</summary>
    public bool VerifiesWith(JsonElement jwks)
    {
        foreach (var key in jwks.GetProperty("keys").EnumerateArray())
        {
            if (key.GetProperty("kid").GetString() != Kid)
            {
                continue;
            }

            using var rsa = RSA.Create(new RSAParameters
            {
                Modulus = Base64Url.DecodeFromChars(key.GetProperty("n").GetString()),
                Exponent = Base64Url.DecodeFromChars(key.GetProperty("e").GetString()),
            });
            return rsa.VerifyData(Encoding.ASCII.GetBytes(SigningInput), Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }

        return false;
    }

    public string[] Strings(string claim) =>
        Payload.TryGetProperty(claim, out var value) ? [.. value.EnumerateArray().Select(v => v.GetString()!)] : [];
}
