namespace Api.Organizations;

/// <summary>Tells the other replicas that an organization changed, so they drop their cached copy.</summary>
public interface IOrganizationChanges
{
    ValueTask PublishAsync(string organizationId, CancellationToken cancellationToken);
}

/// <summary>One replica: there is nobody else to tell.</summary>
public sealed class LocalOrganizationChanges : IOrganizationChanges
{
    public static readonly LocalOrganizationChanges Instance = new();

    public ValueTask PublishAsync(string organizationId, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
