namespace Scalekit.Emulator;

/// <summary>
/// The fixed identifiers the emulator starts with, so personas, docs and tests can name real organizations.
/// </summary>
public static class SeedData
{
    /// <summary>"Acme Corp", external id "acme", region US.</summary>
    public const string AcmeOrganizationId = "org_100000000000000001";

    /// <summary>"Globex Corporation", external id "globex", region EU.</summary>
    public const string GlobexOrganizationId = "org_100000000000000002";

    public const string AcmeMemberUserId = "usr_200000000000000001";
    public const string AcmeAdminUserId = "usr_200000000000000002";
    public const string GlobexMemberUserId = "usr_200000000000000003";

    /// <summary>The machine-to-machine client owned by Acme (its <c>sub</c> and <c>client_id</c>).</summary>
    public const string AcmeMachineClientId = "m2morg_300000000000000001";

    /// <summary>The platform service's machine-to-machine client, allowed to read every organization.</summary>
    public const string PlatformMachineClientId = "m2morg_300000000000000002";
}
