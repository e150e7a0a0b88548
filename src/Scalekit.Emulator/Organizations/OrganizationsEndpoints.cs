using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Scalekit.Emulator.Errors;
using Scalekit.Emulator.OAuth;

namespace Scalekit.Emulator.Organizations;

internal static class OrganizationsEndpoints
{
    private const int DefaultPageSize = 10;
    private const int MaxPageSize = 100;
    private const string NotFoundMessage = "organization not found";
    private static readonly TimeSpan PortalLinkLifetime = TimeSpan.FromDays(7);

    public static RouteGroupBuilder MapOrganizations(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").AddEndpointFilter<ManagementTokenFilter>();

        api.MapPost("/organizations", Create);
        api.MapGet("/organizations", List);
        // ':external' is a literal, as in Scalekit's gRPC-gateway paths; the id is one URL-encoded segment.
        api.MapGet("/organizations:external/{externalId}", GetByExternalId);
        api.MapGet("/organizations/{id}", Get);
        api.MapPatch("/organizations/{id}", Update);
        api.MapDelete("/organizations/{id}", Delete);
        api.MapPatch("/organizations/{id}/settings", UpdateSettings);
        api.MapPut("/organizations/{id}/portal_links", CreatePortalLink);
        // Like Scalekit's gateway: an unknown path or method is a 404 in the error shape, not an empty body.
        api.Map("{**path}", () => ScalekitError.NotFound("Not Found"));

        return api;
    }

    private static async Task<Results<Created<OrganizationEnvelope>, JsonHttpResult<ScalekitError>>> Create(
        HttpRequest request, EmulatorStore store, CancellationToken ct)
    {
        if (await RequestReading.ReadJsonAsync(request, ct) is not { } body)
        {
            return ScalekitError.MalformedBody("request body is not valid JSON");
        }

        var violations = new List<FieldViolation>();
        var fields = OrganizationFields.Read(body, violations);
        fields.Validate(creating: true, violations);
        if (violations.Count > 0)
        {
            return ScalekitError.InvalidArgument(violations);
        }

        var result = store.Create(fields);
        if (result.Organization is not { } organization)
        {
            return ScalekitError.AlreadyExists("organization with this external_id already exists");
        }

        return TypedResults.Created($"/api/v1/organizations/{organization.Id}", Envelope(organization));
    }

    private static Results<Ok<OrganizationEnvelope>, JsonHttpResult<ScalekitError>> Get(string id, EmulatorStore store)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        return store.Find(id) is { } organization
            ? TypedResults.Ok(Envelope(organization))
            : ScalekitError.NotFound(NotFoundMessage);
    }

    private static Results<Ok<OrganizationEnvelope>, JsonHttpResult<ScalekitError>> GetByExternalId(
        string externalId, HttpContext context, EmulatorStore store)
    {
        var exact = RequestReading.LastPathSegment(context, externalId);
        return store.FindByExternalId(exact) is { } organization
            ? TypedResults.Ok(Envelope(organization))
            : ScalekitError.NotFound(NotFoundMessage);
    }

    private static Results<Ok<OrganizationListWire>, JsonHttpResult<ScalekitError>> List(
        HttpRequest request, EmulatorStore store)
    {
        var violations = new List<FieldViolation>();
        var pageSize = DefaultPageSize;
        if (request.Query["page_size"] is [{ Length: > 0 } rawSize])
        {
            if (!int.TryParse(rawSize, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize > MaxPageSize)
            {
                violations.Add(new FieldViolation("page_size", $"value must be an integer between 0 and {MaxPageSize}"));
            }
            else if (pageSize == 0)
            {
                pageSize = DefaultPageSize;
            }
        }

        PageCursor? cursor = null;
        if (request.Query["page_token"] is [{ Length: > 0 } rawToken] && !PageCursor.TryDecode(rawToken, out cursor))
        {
            violations.Add(new FieldViolation("page_token", "value is not a page token this API issued"));
        }

        if (violations.Count > 0)
        {
            return ScalekitError.InvalidArgument(violations);
        }

        var externalId = request.Query["external_id"] is [{ Length: > 0 } rawExternalId] ? rawExternalId : null;
        var page = store.List(externalId, cursor, pageSize);
        return TypedResults.Ok(new OrganizationListWire(
            [.. page.Organizations.Select(OrganizationWire.From)],
            page.Next?.Encode() ?? "",
            page.Previous?.Encode() ?? "",
            page.TotalSize));
    }

    private static async Task<Results<Ok<OrganizationEnvelope>, JsonHttpResult<ScalekitError>>> Update(
        string id, HttpRequest request, EmulatorStore store, CancellationToken ct)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        if (await RequestReading.ReadJsonAsync(request, ct) is not { } body)
        {
            return ScalekitError.MalformedBody("request body is not valid JSON");
        }

        var violations = new List<FieldViolation>();
        var fields = OrganizationFields.Read(body, violations);
        fields.Validate(creating: false, violations);
        if (violations.Count > 0)
        {
            return ScalekitError.InvalidArgument(violations);
        }

        var result = store.Update(id, fields);
        return result.Outcome switch
        {
            StoreOutcome.Ok => TypedResults.Ok(Envelope(result.Organization!)),
            StoreOutcome.DuplicateExternalId => ScalekitError.AlreadyExists("organization with this external_id already exists"),
            StoreOutcome.RegionChange => ScalekitError.InvalidArgument("region_code", "region_code cannot be changed"),
            _ => ScalekitError.NotFound(NotFoundMessage),
        };
    }

    private static Results<Ok<EmptyBody>, JsonHttpResult<ScalekitError>> Delete(string id, EmulatorStore store)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        return store.Delete(id) ? TypedResults.Ok(new EmptyBody()) : ScalekitError.NotFound(NotFoundMessage);
    }

    private static async Task<Results<Ok<OrganizationEnvelope>, JsonHttpResult<ScalekitError>>> UpdateSettings(
        string id, HttpRequest request, EmulatorStore store, CancellationToken ct)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        if (await RequestReading.ReadJsonAsync(request, ct) is not { } body)
        {
            return ScalekitError.MalformedBody("request body is not valid JSON");
        }

        if (ReadFeatures(body) is not { } features)
        {
            return ScalekitError.InvalidArgument(
                "features", "must be a list of {\"name\": non-empty string, \"enabled\": boolean}");
        }

        var result = store.UpdateFeatures(id, features);
        return result.Organization is { } organization
            ? TypedResults.Ok(Envelope(organization))
            : ScalekitError.NotFound(NotFoundMessage);
    }

    private static Results<Ok<PortalLinkEnvelope>, JsonHttpResult<ScalekitError>> CreatePortalLink(
        string id, HttpRequest request, EmulatorStore store, EmulatorAddress address, TimeProvider time)
    {
        if (InvalidId(id) is { } invalid)
        {
            return invalid;
        }

        var unknown = request.Query["features"].Where(f => f is not ("sso" or "dir_sync")).ToList();
        if (unknown.Count > 0)
        {
            return ScalekitError.InvalidArgument("features", $"unknown feature '{unknown[0]}'; expected sso or dir_sync");
        }

        if (store.Find(id) is null)
        {
            return ScalekitError.NotFound(NotFoundMessage);
        }

        // Scalekit's links are https on the environment's domain; nothing serves this one, it only has the right shape.
        var location = new UriBuilder(address.BaseUrl) { Scheme = Uri.UriSchemeHttps, Path = $"/magicLink/{Guid.NewGuid()}_c" };
        return TypedResults.Ok(new PortalLinkEnvelope(new PortalLinkWire(
            Ids.New("lnk_"),
            location.Uri.ToString(),
            ScalekitTime.Format(time.GetUtcNow() + PortalLinkLifetime))));
    }

    private static JsonHttpResult<ScalekitError>? InvalidId(string id) =>
        id.Length is < 1 or > 32 ? ScalekitError.InvalidArgument("id", "value length must be between 1 and 32 characters") : null;

    private static OrganizationEnvelope Envelope(EmulatedOrganization organization) =>
        new(OrganizationWire.From(organization));

    private static List<OrganizationFeature>? ReadFeatures(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object
            || !body.TryGetProperty("features", out var features)
            || features.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var result = new List<OrganizationFeature>();
        foreach (var feature in features.EnumerateArray())
        {
            if (feature.ValueKind != JsonValueKind.Object
                || !feature.TryGetProperty("name", out var name)
                || name.ValueKind != JsonValueKind.String
                || name.GetString() is not { Length: > 0 } featureName)
            {
                return null;
            }

            var enabled = feature.TryGetProperty("enabled", out var flag) ? flag.ValueKind : JsonValueKind.False;
            if (enabled is not (JsonValueKind.True or JsonValueKind.False))
            {
                return null;
            }

            result.Add(new OrganizationFeature(featureName, enabled == JsonValueKind.True));
        }

        return result;
    }
}
