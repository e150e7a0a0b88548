namespace Scalekit.Emulator;

/// <summary>How to start a <see cref="ScalekitEmulator"/>. Every value has a local-development default.</summary>
public sealed record EmulatorOptions
{
    /// <summary>The port the command-line server uses when <c>--port</c> is not given.</summary>
    public const int DefaultCliPort = 5380;

    /// <summary>The management-API client id the emulator accepts unless told otherwise. Not a secret: local use only.</summary>
    public const string DefaultClientId = "skc_local_emulator";

    /// <summary>The management-API client secret the emulator accepts unless told otherwise. Not a secret: local use only.</summary>
    public const string DefaultClientSecret = "test_local_emulator_secret";

    /// <summary>TCP port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// A second port on 127.0.0.1 that speaks cleartext HTTP/2 only (h2c with prior knowledge, what the API's
    /// <c>Scalekit:Http2</c> <c>Always</c> sends over <c>http://</c>); 0 picks a free one, null (the default) opens none.
    /// Same store, keys and issuer as <see cref="Port"/>. Kestrel answers prior-knowledge HTTP/2 only on an endpoint that
    /// speaks nothing else, so it cannot share <see cref="Port"/>, which HTTP/1.1 clients (curl, wrk) use.
    /// </summary>
    public int? Http2Port { get; init; }

    /// <summary>The only client id <c>POST /oauth/token</c> accepts; also the default audience of minted access tokens.</summary>
    public string ClientId { get; init; } = DefaultClientId;

    /// <summary>The only client secret <c>POST /oauth/token</c> accepts.</summary>
    public string ClientSecret { get; init; } = DefaultClientSecret;

    /// <summary>The <c>iss</c> of minted tokens and of the discovery document; defaults to the base URL without a trailing slash.</summary>
    public string? Issuer { get; init; }

    /// <summary>Whether the store starts with the Acme and Globex organizations (see <see cref="SeedData"/>).</summary>
    public bool SeedOrganizations { get; init; } = true;

    /// <summary>The <c>expires_in</c> of management tokens; after it, <c>/api/v1/*</c> answers 401 to that token.</summary>
    public TimeSpan ManagementTokenLifetime { get; init; } = TimeSpan.FromSeconds(86399);

    internal void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "Port must be between 0 and 65535.");
        }

        if (Http2Port is < 0 or > 65535 || (Http2Port is > 0 && Http2Port == Port))
        {
            throw new ArgumentOutOfRangeException(nameof(Http2Port), Http2Port, "Http2Port must be between 0 and 65535, and not Port.");
        }

        if (string.IsNullOrWhiteSpace(ClientId) || string.IsNullOrWhiteSpace(ClientSecret))
        {
            throw new ArgumentException("ClientId and ClientSecret must not be empty.");
        }

        if (Issuer is not null && !Uri.TryCreate(Issuer, UriKind.Absolute, out _))
        {
            throw new ArgumentException($"Issuer '{Issuer}' is not an absolute URL.", nameof(Issuer));
        }

        if (ManagementTokenLifetime <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ManagementTokenLifetime), ManagementTokenLifetime, "The lifetime must be positive.");
        }
    }
}
