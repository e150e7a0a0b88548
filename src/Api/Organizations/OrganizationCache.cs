using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;

namespace Api.Organizations;

/// <summary>
/// Organizations read from Scalekit, kept for <see cref="CachingOptions.OrganizationTtl"/>. Concurrent misses for one
/// organization share a single upstream call; failures (404, 5xx, timeouts) are never stored. The key is the
/// organization id alone, which is safe because authorization runs first (the route id against the token's
/// <c>oid</c> and grants), and the organization body does not depend on who asks. Handlers that change or delete an
/// organization call <see cref="InvalidateAsync"/> after Scalekit answered the change (or failed to).
/// </summary>
/// <remarks>
/// Holds one Scalekit client for its lifetime: the client's handlers are never rotated (pooled connections are
/// recycled by PooledConnectionLifetime instead), and creating a typed client per request costs more than a hit.
/// </remarks>
public sealed class OrganizationCache(HybridCache cache, IScalekitApi scalekit, IOrganizationChanges changes, IOptions<CachingOptions> options)
{
    private readonly TimeSpan _ttl = options.Value.OrganizationTtl;

    private readonly HybridCacheEntryOptions _entryOptions = new()
    {
        Expiration = options.Value.OrganizationTtl,
        LocalCacheExpiration = options.Value.OrganizationTtl,
    };

    // Every key starts with the current generation; a new generation makes every earlier entry unreachable at once
    // (they still expire on their own, within one TTL).
    private string _keyPrefix = "organization:0:";
    private int _generation;

    // Every key also carries how often its stripe of organizations changed. Removing an entry alone left a read that
    // was already on its way to Scalekit when the change landed under the old key: reads arriving after the change
    // joined it and got the old body (a deleted organization, after its DELETE had answered 204), and it then stored
    // that body for a whole TTL from when its answer came, however late. A change moves its organization to a new key,
    // so that read answers only the callers that were waiting for it and stores its body where nobody looks. Striped
    // rather than per id, so the table never grows; another organization of the same stripe merely misses once.
    private const int ChangeStripes = 1024;
    private readonly long[] _changes = new long[ChangeStripes];

    public bool Enabled => _ttl > TimeSpan.Zero;

    public ValueTask<OrganizationResponse> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return FetchAsync((id, scalekit), cancellationToken);
        }

        var read = cache.GetOrCreateAsync(Key(id), (id, scalekit, Activity.Current), FetchTracedAsync, _entryOptions, cancellationToken: cancellationToken);
        return read.IsCompletedSuccessfully ? new(read.Result.Organization) : AwaitFetchAsync(read);
    }

    // A read that waited on a Scalekit call another request started (and stays under that request's trace) links its
    // own trace to that request, so its trace shows where its answer came from.
    private static async ValueTask<OrganizationResponse> AwaitFetchAsync(ValueTask<FetchedOrganization> read)
    {
        var reader = Activity.Current;
        var fetched = await read;
        if (reader is { IsAllDataRequested: true } && fetched.FetchedUnder.TraceId != default && fetched.FetchedUnder != reader.Context)
        {
            reader.AddLink(new ActivityLink(fetched.FetchedUnder));
        }

        return fetched.Organization;
    }

    /// <summary>
    /// Forgets the organization here and tells the other replicas, so the next read anywhere goes to Scalekit.
    /// Call it after an update, a settings change or a delete.
    /// </summary>
    public async ValueTask InvalidateAsync(string id, CancellationToken cancellationToken)
    {
        await ForgetLocallyAsync(id, cancellationToken);
        // Announced even when this replica caches nothing: others may (e.g. while a rollout turns the cache on).
        await changes.PublishAsync(id, cancellationToken);
    }

    /// <summary>
    /// Drops this replica's copy only (another replica changed the organization), and any read of it still in flight:
    /// what that read brings back is neither shared with later reads nor kept.
    /// </summary>
    public ValueTask ForgetLocallyAsync(string id, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return ValueTask.CompletedTask;
        }

        var previous = Key(id);
        Interlocked.Increment(ref _changes[StripeOf(id)]);
        return cache.RemoveAsync(previous, cancellationToken);
    }

    /// <summary>
    /// Drops every copy this replica holds, including those being fetched right now: for when changes made elsewhere
    /// may have gone unannounced (this replica was cut off from the change channel).
    /// </summary>
    public void ForgetAllLocally()
    {
        var generation = Interlocked.Increment(ref _generation);
        Volatile.Write(ref _keyPrefix, string.Create(CultureInfo.InvariantCulture, $"organization:{generation}:"));
    }

    // HybridCache runs the shared fetch outside the caller's execution context; put it back under the trace of the
    // request that started it, so the Scalekit call keeps its traceparent.
    private static async ValueTask<FetchedOrganization> FetchTracedAsync(
        (string Id, IScalekitApi Scalekit, Activity? Parent) state, CancellationToken cancellationToken)
    {
        var previous = Activity.Current;
        if (previous is null && state.Parent is { } parent)
        {
            Activity.Current = parent;
        }

        try
        {
            return new(await FetchAsync((state.Id, state.Scalekit), cancellationToken), state.Parent?.Context ?? default);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    private static async ValueTask<OrganizationResponse> FetchAsync((string Id, IScalekitApi Scalekit) state, CancellationToken cancellationToken) =>
        (await state.Scalekit.GetOrganizationAsync(state.Id, cancellationToken)).ToResponseFor(state.Id);

    /// <summary>
    /// An organization as cached, with the trace context of the request whose read fetched it. Immutable, so hits get
    /// this very instance (HybridCache copies what it cannot tell is immutable).
    /// </summary>
    [ImmutableObject(true)]
    private sealed record FetchedOrganization(OrganizationResponse Organization, ActivityContext FetchedUnder);

    private string Key(string id) =>
        string.Create(CultureInfo.InvariantCulture, $"{Volatile.Read(ref _keyPrefix)}{Volatile.Read(ref _changes[StripeOf(id)])}:{id}");

    private static int StripeOf(string id) => (int)((uint)StringComparer.Ordinal.GetHashCode(id) % ChangeStripes);
}
