namespace Api.Auth;

/// <summary>
/// The <c>Authorization</c> section: one rule per policy. A rule is satisfied when any of its alternatives is;
/// an alternative needs any one of its grants, all of its roles and, if asked, the caller's <c>oid</c> to equal
/// the organization the endpoint acts on.
/// </summary>
public sealed class AccessRulesOptions
{
    public const string SectionName = "Authorization";

    public Dictionary<string, AccessRule> Policies { get; set; } = new(StringComparer.Ordinal);
}

public sealed class AccessRule
{
    public List<AccessAlternative> AnyOf { get; set; } = [];
}

public sealed class AccessAlternative
{
    /// <summary>Any one of these (a permission of a user token or a scope of an M2M token) is enough.</summary>
    public List<string> Grants { get; set; } = [];

    /// <summary>Every one of these roles is needed.</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>
    /// The token's <c>oid</c> must equal the organization the endpoint acts on: the route's <c>{id}</c>, the caller's
    /// own organization, or the organization the handler found (see <see cref="OrganizationScope"/>).
    /// </summary>
    public bool SameOrganization { get; set; }
}
