using System.Buffers.Text;
using System.Security.Cryptography;

namespace Scalekit.Emulator.Tokens;

internal sealed record SigningKey(string KeyId, RSA Rsa);

/// <summary>
/// The RSA keys behind <c>/keys</c>. One key signs; rotation adds a new signing key and, like Scalekit,
/// keeps publishing the previous ones so tokens already issued still verify.
/// </summary>
internal sealed class SigningKeyRing : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<SigningKey> _published = [];
    private readonly List<SigningKey> _all = [];

    public SigningKeyRing() => Rotate(retirePrevious: false);

    public SigningKey Current
    {
        get
        {
            lock (_gate)
            {
                return _published[0];
            }
        }
    }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<SigningKey> Published
    {
        get
        {
            lock (_gate)
            {
                return [.. _published];
            }
        }
    }

    public string Rotate(bool retirePrevious)
    {
        var key = new SigningKey(Ids.New("snk_"), RSA.Create(2048));
        lock (_gate)
        {
            if (retirePrevious)
            {
                _published.Clear();
            }

            _published.Insert(0, key);
            _all.Add(key);
        }

        return key.KeyId;
    }

    public static PublicJwk ToJwk(SigningKey key)
    {
        var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
        return new PublicJwk(
            Kty: "RSA",
            Use: "sig",
            Alg: "RS256",
            Kid: key.KeyId,
            N: Base64Url.EncodeToString(parameters.Modulus),
            E: Base64Url.EncodeToString(parameters.Exponent));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var key in _all)
            {
                key.Rsa.Dispose();
            }
        }
    }
}

/// <summary>One entry of the JWKS, serialized snake_case like every emulator body.</summary>
internal sealed record PublicJwk(string Kty, string Use, string Alg, string Kid, string N, string E);
