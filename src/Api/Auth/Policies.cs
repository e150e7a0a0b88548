namespace Api.Auth;

/// <summary>Names of the authorization policies; each has a rule under <c>Authorization:Policies:{name}</c>.</summary>
public static class Policies
{
    public const string CreateOrganization = "CreateOrganization";
    public const string ReadOrganization = "ReadOrganization";
}
