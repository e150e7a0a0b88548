using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

namespace Scalekit.Emulator.Tokens;

/// <summary>Writes RS256 JWTs with Scalekit's claim names, signed by the key ring's current key.</summary>
internal sealed class AccessTokenMinter(SigningKeyRing keys, EmulatorAddress address, EmulatorOptions options, TimeProvider time)
{
    public string Mint(AccessTokenRequest request)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Subject);

        var key = keys.Current;
        var header = Serialize(writer =>
        {
            writer.WriteString("alg", "RS256");
            writer.WriteString("kid", key.KeyId);
            writer.WriteString("typ", "JWT");
        });
        var payload = Serialize(writer => WriteClaims(writer, request));

        var signingInput = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(payload);
        var signature = key.Rsa.SignData(
            System.Text.Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private void WriteClaims(Utf8JsonWriter writer, AccessTokenRequest request)
    {
        var isMachine = request.Subject.StartsWith("m2morg_", StringComparison.Ordinal);
        var audiences = request.Audiences.Count > 0 ? request.Audiences : [options.ClientId];
        var issuedAt = (request.IssuedAt ?? time.GetUtcNow()).ToUnixTimeSeconds();

        writer.WriteString("iss", request.Issuer ?? address.Issuer);
        WriteArray(writer, "aud", audiences);
        writer.WriteString("sub", request.Subject);
        if (request.OrganizationId is not null)
        {
            writer.WriteString("oid", request.OrganizationId);
        }

        var sessionId = request.SessionId ?? (isMachine ? null : Ids.New("ses_"));
        if (sessionId is not null)
        {
            writer.WriteString("sid", sessionId);
        }

        writer.WriteString("jti", Ids.New("tkn_"));
        writer.WriteString("client_id", request.ClientId ?? (isMachine ? request.Subject : audiences[0]));
        writer.WriteNumber("iat", issuedAt);
        writer.WriteNumber("nbf", issuedAt);
        writer.WriteNumber("exp", issuedAt + (long)request.Lifetime.TotalSeconds);
        WriteArray(writer, "roles", request.Roles);
        WriteArray(writer, "permissions", request.Permissions);
        WriteArray(writer, "scopes", request.Scopes);
        if (request.Scope is not null)
        {
            writer.WriteString("scope", request.Scope);
        }
    }

    private static void WriteArray(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static byte[] Serialize(Action<Utf8JsonWriter> writeProperties)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
