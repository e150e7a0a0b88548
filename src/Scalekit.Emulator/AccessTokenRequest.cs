namespace Scalekit.Emulator;

/// <summary>
/// The claims of an access token to mint. Empty lists are left out of the token, as Scalekit does.
/// A subject starting with "m2morg_" is a machine-to-machine client: its <c>client_id</c> defaults to the subject
/// and it gets no <c>sid</c>.
/// </summary>
public sealed record AccessTokenRequest
{
    /// <summary><c>sub</c>: "usr_..." for a user, "m2morg_..." for a machine-to-machine client.</summary>
    public required string Subject { get; init; }

    /// <summary><c>oid</c>: the organization the user signed in to, or that owns the machine client.</summary>
    public string? OrganizationId { get; init; }

    /// <summary><c>aud</c>, always written as a JSON array; empty means the emulator's client id.</summary>
    public IReadOnlyList<string> Audiences { get; init; } = [];

    /// <summary><c>roles</c>, e.g. "admin".</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary><c>permissions</c>, "resource:action" strings.</summary>
    public IReadOnlyList<string> Permissions { get; init; } = [];

    /// <summary><c>scopes</c> as a JSON array (what machine-to-machine tokens carry).</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary><c>scope</c> as one space-separated string (the other form SDKs read); omitted when null.</summary>
    public string? Scope { get; init; }

    /// <summary><c>client_id</c>; defaults to the subject for "m2morg_" subjects, else to the first audience.</summary>
    public string? ClientId { get; init; }

    /// <summary><c>sid</c>; defaults to a new "ses_..." id for users and is omitted for machine clients.</summary>
    public string? SessionId { get; init; }

    /// <summary><c>exp</c> - <c>iat</c>.</summary>
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(24);

    /// <summary><c>iat</c> and <c>nbf</c>; defaults to now. Set it in the past to mint an expired token.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>Overrides <c>iss</c>, to mint a token from the wrong issuer.</summary>
    public string? Issuer { get; init; }
}
