namespace Scalekit.Emulator;

/// <summary>
/// Where the emulator listens. Known only once Kestrel has bound (port 0 picks a free port),
/// so the endpoints and the token minter read it lazily.
/// </summary>
internal sealed class EmulatorAddress(string? configuredIssuer)
{
    private Uri? _baseUrl;

    public Uri BaseUrl => _baseUrl ?? throw new InvalidOperationException("The emulator has not bound its port yet.");

    /// <summary>The configured issuer, else the base URL without its trailing slash.</summary>
    public string Issuer => configuredIssuer ?? BaseUrl.GetLeftPart(UriPartial.Authority);

    public void Bind(Uri baseUrl) => _baseUrl = baseUrl;

    public string Absolute(string relativePath) => new Uri(BaseUrl, relativePath).ToString();
}
