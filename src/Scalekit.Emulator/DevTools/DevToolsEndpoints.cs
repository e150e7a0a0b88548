using System.Net;
using Microsoft.AspNetCore.Http.HttpResults;
using Scalekit.Emulator.Tokens;

namespace Scalekit.Emulator.DevTools;

/// <summary>
/// Emulator-only endpoints (Scalekit has no such thing) that let the <c>token</c> command mint access tokens
/// from a running emulator's key. Loopback callers only: whoever can call this can impersonate anyone.
/// </summary>
internal static class DevToolsEndpoints
{
    public const string Prefix = "/_emulator";
    public const string TokensPath = "/_emulator/tokens";

    /// <summary>The longest lifetime a minted token may ask for (ten years): beyond it <c>exp</c> stops being a usable date.</summary>
    public const long MaxLifetimeSeconds = 10L * 365 * 24 * 60 * 60;

    public static RouteGroupBuilder MapDevTools(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(Prefix).AddEndpointFilter(LoopbackOnly);
        group.MapPost("/tokens", MintToken);
        group.MapGet("/stats", Stats);
        return group;
    }

    internal static async ValueTask<object?> LoopbackOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        IsLoopback(context.HttpContext.Connection.RemoteIpAddress)
            ? await next(context)
            : TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "The emulator's dev endpoints answer loopback callers only.");

    internal static bool IsLoopback(IPAddress? address) => address is not null && IPAddress.IsLoopback(address);

    // Requests answered so far by route: a benchmark reads it before and after a run to count upstream calls.
    private static Ok<EmulatorStats> Stats(RequestCounters counters) => TypedResults.Ok(new EmulatorStats(counters.Snapshot()));

    private static Results<Ok<MintedToken>, BadRequest<string>> MintToken(DevTokenRequest request, AccessTokenMinter minter)
    {
        if (string.IsNullOrWhiteSpace(request.Sub))
        {
            return TypedResults.BadRequest("sub is required");
        }

        if (BlankClaim(request) is { } blank)
        {
            return TypedResults.BadRequest($"{blank} must not contain an empty value");
        }

        if (request.LifetimeSeconds is < 1 or > MaxLifetimeSeconds)
        {
            return TypedResults.BadRequest($"lifetime_seconds must be between 1 and {MaxLifetimeSeconds}");
        }

        var token = minter.Mint(new AccessTokenRequest
        {
            Subject = request.Sub,
            OrganizationId = request.Oid,
            Audiences = request.Aud ?? [],
            Roles = request.Roles ?? [],
            Permissions = request.Permissions ?? [],
            Scopes = request.Scopes ?? [],
            Lifetime = request.LifetimeSeconds is long seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromHours(24),
        });
        return TypedResults.Ok(new MintedToken(token));
    }

    private static string? BlankClaim(DevTokenRequest request) =>
        request.Oid is { } oid && string.IsNullOrWhiteSpace(oid) ? "oid"
        : request.Aud?.Any(string.IsNullOrWhiteSpace) == true ? "aud"
        : request.Roles?.Any(string.IsNullOrWhiteSpace) == true ? "roles"
        : request.Permissions?.Any(string.IsNullOrWhiteSpace) == true ? "permissions"
        : request.Scopes?.Any(string.IsNullOrWhiteSpace) == true ? "scopes"
        : null;
}

/// <summary>The body of <c>POST /_emulator/tokens</c>, snake_case like the rest of the emulator.</summary>
internal sealed record DevTokenRequest(
    string? Sub,
    string? Oid,
    IReadOnlyList<string>? Aud,
    IReadOnlyList<string>? Roles,
    IReadOnlyList<string>? Permissions,
    IReadOnlyList<string>? Scopes,
    long? LifetimeSeconds);

internal sealed record MintedToken(string AccessToken);

/// <summary>The body of <c>GET /_emulator/stats</c>: requests answered by "METHOD route pattern".</summary>
internal sealed record EmulatorStats(IReadOnlyDictionary<string, long> Requests);
