namespace Api.Organizations;

public static class OrganizationId
{
    /// <summary>Whether <paramref name="id"/> can be a Scalekit organization id: 1-32 of [A-Za-z0-9_-].</summary>
    public static bool IsWellFormed(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 32 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
