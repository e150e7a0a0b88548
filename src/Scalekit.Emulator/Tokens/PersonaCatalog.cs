namespace Scalekit.Emulator.Tokens;

/// <summary>The callers a developer needs to try every authorization path of the API by hand.</summary>
internal static class PersonaCatalog
{
    public static IReadOnlyList<Persona> Create(AccessTokenMinter minter, string audience)
    {
        IReadOnlyList<string> audiences = [audience];
        return
        [
            new("member", "Acme user who may read organizations",
                minter.Mint(new AccessTokenRequest
                {
                    Subject = SeedData.AcmeMemberUserId,
                    OrganizationId = SeedData.AcmeOrganizationId,
                    Audiences = audiences,
                    Roles = ["member"],
                    Permissions = ["organizations:read"],
                })),
            new("admin", "Acme administrator who may read, create, update and delete organizations",
                minter.Mint(new AccessTokenRequest
                {
                    Subject = SeedData.AcmeAdminUserId,
                    OrganizationId = SeedData.AcmeOrganizationId,
                    Audiences = audiences,
                    Roles = ["admin"],
                    Permissions = ["organizations:read", "organizations:create", "organizations:update", "organizations:delete"],
                })),
            new("other-org-member", "Globex user who may read organizations (a different organization than Acme)",
                minter.Mint(new AccessTokenRequest
                {
                    Subject = SeedData.GlobexMemberUserId,
                    OrganizationId = SeedData.GlobexOrganizationId,
                    Audiences = audiences,
                    Roles = ["member"],
                    Permissions = ["organizations:read"],
                })),
            new("m2m", "Acme machine-to-machine client with organizations:read and organizations:create scopes",
                minter.Mint(new AccessTokenRequest
                {
                    Subject = SeedData.AcmeMachineClientId,
                    OrganizationId = SeedData.AcmeOrganizationId,
                    Audiences = audiences,
                    Scopes = ["organizations:read", "organizations:create"],
                })),
            new("platform", "Platform service (machine-to-machine) that may read every organization",
                minter.Mint(new AccessTokenRequest
                {
                    Subject = SeedData.PlatformMachineClientId,
                    OrganizationId = SeedData.AcmeOrganizationId,
                    Audiences = audiences,
                    Scopes = ["organizations:read_all"],
                })),
        ];
    }
}
