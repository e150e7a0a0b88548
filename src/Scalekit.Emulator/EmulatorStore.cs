using Scalekit.Emulator.Organizations;

namespace Scalekit.Emulator;

/// <summary>
/// The emulator's organizations, in memory and thread-safe. Tests may read it and reset it;
/// changes go through the HTTP API, as they would against Scalekit.
/// </summary>
public sealed class EmulatorStore
{
    private static readonly IReadOnlyList<OrganizationFeature> DefaultFeatures =
        [new("sso", false), new("dir_sync", false)];

    private readonly Lock _gate = new();
    private readonly bool _seed;
    private readonly TimeProvider _time;

    // Insertion order is listing order; the sequence number is what page tokens point at. The index by id keeps
    // lookups constant-time when a benchmark has created tens of thousands of organizations.
    private readonly List<Entry> _entries = [];
    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private long _sequence;

    internal EmulatorStore(bool seed, TimeProvider time)
    {
        _seed = seed;
        _time = time;
        Reset();
    }

    /// <summary>Every organization, oldest first.</summary>
    public IReadOnlyList<EmulatedOrganization> Organizations
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries.Select(e => e.Organization)];
            }
        }
    }

    public EmulatedOrganization? Find(string id)
    {
        lock (_gate)
        {
            return _byId.TryGetValue(id, out var entry) ? entry.Organization : null;
        }
    }

    public EmulatedOrganization? FindByExternalId(string externalId)
    {
        lock (_gate)
        {
            return _entries.Find(e => e.Organization.ExternalId == externalId)?.Organization;
        }
    }

    /// <summary>Drops every change: back to the seed organizations (or to none when seeding is off).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _entries.Clear();
            _byId.Clear();
            if (!_seed)
            {
                return;
            }

            var now = _time.GetUtcNow();
            Add(new EmulatedOrganization(
                SeedData.AcmeOrganizationId, "Acme Corp", "acme",
                new Dictionary<string, string> { ["plan"] = "enterprise" },
                "US", "acme", "https://acme.example/logo.png", DefaultFeatures, now, now));
            Add(new EmulatedOrganization(
                SeedData.GlobexOrganizationId, "Globex Corporation", "globex",
                new Dictionary<string, string> { ["plan"] = "startup" },
                "EU", "globex", null, DefaultFeatures, now, now));
        }
    }

    internal StoreResult Create(OrganizationFields fields)
    {
        lock (_gate)
        {
            if (fields.ExternalId is { Length: > 0 } externalId && ExternalIdTaken(externalId, exceptId: null))
            {
                return StoreResult.DuplicateExternalId;
            }

            string id;
            do
            {
                id = Ids.New("org_");
            }
            while (_byId.ContainsKey(id));

            var now = _time.GetUtcNow();
            var organization = new EmulatedOrganization(
                id,
                fields.DisplayName!,
                NullIfEmpty(fields.ExternalId),
                fields.Metadata ?? new Dictionary<string, string>(),
                string.IsNullOrEmpty(fields.RegionCode) ? "US" : fields.RegionCode,
                NullIfEmpty(fields.Slug),
                NullIfEmpty(fields.LogoUrl),
                DefaultFeatures,
                now,
                now);
            Add(organization);
            return StoreResult.Ok(organization);
        }
    }

    /// <summary>Applies only the fields present in the request; an empty string clears an optional field.</summary>
    internal StoreResult Update(string id, OrganizationFields fields)
    {
        lock (_gate)
        {
            var index = IndexOf(id);
            if (index < 0)
            {
                return StoreResult.NotFound;
            }

            var current = _entries[index].Organization;
            if (fields.RegionCode is { Length: > 0 } region && region != current.RegionCode)
            {
                return StoreResult.RegionChange;
            }

            if (fields.ExternalId is { Length: > 0 } externalId && ExternalIdTaken(externalId, exceptId: id))
            {
                return StoreResult.DuplicateExternalId;
            }

            var updated = current with
            {
                DisplayName = fields.DisplayName ?? current.DisplayName,
                ExternalId = fields.ExternalId is null ? current.ExternalId : NullIfEmpty(fields.ExternalId),
                Metadata = fields.Metadata ?? current.Metadata,
                Slug = fields.Slug is null ? current.Slug : NullIfEmpty(fields.Slug),
                LogoUrl = fields.LogoUrl is null ? current.LogoUrl : NullIfEmpty(fields.LogoUrl),
                UpdateTime = _time.GetUtcNow(),
            };
            _entries[index] = _byId[id] = _entries[index] with { Organization = updated };
            return StoreResult.Ok(updated);
        }
    }

    /// <summary>Sets the named features; features not named keep their state.</summary>
    internal StoreResult UpdateFeatures(string id, IReadOnlyList<OrganizationFeature> changes)
    {
        lock (_gate)
        {
            var index = IndexOf(id);
            if (index < 0)
            {
                return StoreResult.NotFound;
            }

            var current = _entries[index].Organization;
            var features = current.Features.ToList();
            foreach (var change in changes)
            {
                var existing = features.FindIndex(f => f.Name == change.Name);
                if (existing >= 0)
                {
                    features[existing] = change;
                }
                else
                {
                    features.Add(change);
                }
            }

            var updated = current with { Features = features, UpdateTime = _time.GetUtcNow() };
            _entries[index] = _byId[id] = _entries[index] with { Organization = updated };
            return StoreResult.Ok(updated);
        }
    }

    internal bool Delete(string id)
    {
        lock (_gate)
        {
            var index = IndexOf(id);
            if (index < 0)
            {
                return false;
            }

            _entries.RemoveAt(index);
            _byId.Remove(id);
            return true;
        }
    }

    internal OrganizationPage List(string? externalId, PageCursor? cursor, int pageSize)
    {
        lock (_gate)
        {
            var matching = externalId is null
                ? _entries
                : _entries.FindAll(e => e.Organization.ExternalId == externalId);

            int start;
            int end;
            switch (cursor)
            {
                case { Before: true } before:
                    end = CountBelow(matching, before.Sequence);
                    start = Math.Max(0, end - pageSize);
                    break;
                case { } after:
                    start = CountAtOrBelow(matching, after.Sequence);
                    end = Math.Min(matching.Count, start + pageSize);
                    break;
                default:
                    start = 0;
                    end = Math.Min(matching.Count, pageSize);
                    break;
            }

            var page = matching.GetRange(start, end - start);
            return new OrganizationPage(
                [.. page.Select(e => e.Organization)],
                end < matching.Count && page.Count > 0 ? PageCursor.After(page[^1].Sequence) : null,
                start > 0 && page.Count > 0 ? PageCursor.BeforeOf(page[0].Sequence) : null,
                matching.Count);
        }
    }

    private static int CountBelow(List<Entry> entries, long sequence)
    {
        var count = 0;
        while (count < entries.Count && entries[count].Sequence < sequence)
        {
            count++;
        }

        return count;
    }

    // Not CountBelow(sequence + 1): a decoded token may carry long.MaxValue, and the sum would wrap to the first page.
    private static int CountAtOrBelow(List<Entry> entries, long sequence)
    {
        var count = 0;
        while (count < entries.Count && entries[count].Sequence <= sequence)
        {
            count++;
        }

        return count;
    }

    private void Add(EmulatedOrganization organization)
    {
        var entry = new Entry(++_sequence, organization);
        _entries.Add(entry);
        _byId[organization.Id] = entry;
    }

    // Entries stay sorted by sequence (appended in order, updated in place), so the position is a binary search.
    private int IndexOf(string id) =>
        _byId.TryGetValue(id, out var entry) ? _entries.BinarySearch(entry, EntryOrder.Instance) : -1;

    private bool ExternalIdTaken(string externalId, string? exceptId) =>
        _entries.Exists(e => e.Organization.ExternalId == externalId && e.Organization.Id != exceptId);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private sealed record Entry(long Sequence, EmulatedOrganization Organization);

    private sealed class EntryOrder : IComparer<Entry>
    {
        public static readonly EntryOrder Instance = new();

        public int Compare(Entry? x, Entry? y) => (x?.Sequence ?? 0).CompareTo(y?.Sequence ?? 0);
    }
}
