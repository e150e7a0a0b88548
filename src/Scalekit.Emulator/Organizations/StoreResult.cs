namespace Scalekit.Emulator.Organizations;

internal sealed record OrganizationPage(
    IReadOnlyList<EmulatedOrganization> Organizations,
    PageCursor? Next,
    PageCursor? Previous,
    int TotalSize);

internal enum StoreOutcome
{
    Ok,
    NotFound,
    DuplicateExternalId,
    RegionChange,
}

internal readonly record struct StoreResult(StoreOutcome Outcome, EmulatedOrganization? Organization)
{
    public static StoreResult NotFound => new(StoreOutcome.NotFound, null);

    public static StoreResult DuplicateExternalId => new(StoreOutcome.DuplicateExternalId, null);

    public static StoreResult RegionChange => new(StoreOutcome.RegionChange, null);

    public static StoreResult Ok(EmulatedOrganization organization) => new(StoreOutcome.Ok, organization);
}
