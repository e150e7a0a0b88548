using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Api.Auth;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Api.Idempotency;

/// <summary>
/// Makes an endpoint idempotent under the <c>Idempotency-Key</c> header, per caller: the first request with a key
/// runs and a success is stored; a retry with the same key and body gets that response again without running; the
/// same key with another body is 422, a key whose first request is still running 409, a malformed key 400.
/// A failure frees the key, except when Scalekit may have acted: then the retry is told so (<see cref="IdempotentRetry"/>).
/// </summary>
internal sealed class IdempotencyFilter<TBody>(
    IIdempotencyStore store,
    IOptionsMonitor<IdempotencyOptions> options,
    IOptions<JsonOptions> json,
    TimeProvider time,
    Serilog.IDiagnosticContext diagnostics,
    ILogger<IdempotencyFilter<TBody>> logger) : IEndpointFilter
    where TBody : class
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!http.Request.Headers.TryGetValue(IdempotencyKey.HeaderName, out var header))
        {
            return await next(context);
        }

        if (IdempotencyKey.Parse(header) is not { } key)
        {
            return Problem(ProblemReasons.IdempotencyKeyMalformed, "Bad Request",
                $"The {IdempotencyKey.HeaderName} header must be one string of 1-{IdempotencyKey.MaxLength} printable ASCII characters (not counting its quotes), e.g. \"8e03978e-40d5-43e8-bc93-6894a57f9324\".");
        }

        if (ScalekitClaims.CallerOf(http.User) is not { } caller)
        {
            return Problem(ProblemReasons.IdempotencyKeyUnscoped, "Bad Request",
                $"An {IdempotencyKey.HeaderName} needs an access token that names its caller (sub).");
        }

        var settings = options.CurrentValue;
        var storeKey = StoreKey(http, caller, key);
        var fingerprint = Fingerprint(context.Arguments.OfType<TBody>().FirstOrDefault());
        var now = time.GetUtcNow();
        var claim = new PendingRequest(fingerprint, Guid.NewGuid().ToString("N"), now + settings.InFlightTimeout, FirstAttemptAt: now);

        // Store operations are not tied to the caller: an outcome must be recorded even when nobody waits for it.
        var held = await store.TryAddAsync(storeKey, claim, settings.KeyLifetime, CancellationToken.None);
        if (held is not null)
        {
            var (answer, takenOver) = await AnswerForHeldKeyAsync(http, storeKey, held, claim, settings);
            if (answer is not null)
            {
                return answer;
            }

            claim = takenOver;
        }

        // A key that was held yet not answered for was taken over from an attempt whose outcome is unknown. That
        // attempt ended when its lease did (released early when it ended, or run out when its process died).
        var previousOutcomeUnknown = held is PendingRequest;
        if (held is PendingRequest earlier)
        {
            logger.LogWarning("Retrying an idempotent request whose earlier attempt ended with an unknown outcome");
            // The takeover carried the first attempt's start over (every claim this filter writes has one).
            IdempotentRetry.Set(http, claim.FirstAttemptAt!.Value, earlier.LeaseExpires);
        }

        object? result;
        try
        {
            result = await next(context);
        }
        catch (Exception ex)
        {
            await ReleaseAsync(storeKey, claim, keepForReconciliation: previousOutcomeUnknown || UpstreamOutcome.MayHaveTakenEffect(ex), settings);
            throw;
        }

        if (result is not IResult produced)
        {
            await ReleaseAsync(storeKey, claim, keepForReconciliation: previousOutcomeUnknown, settings);
            return result;
        }

        var response = await CaptureAsync(http, produced, fingerprint);
        if (response.StatusCode is >= 200 and < 300)
        {
            try
            {
                // On the request event: a caller who hung up is logged 499, yet what was done is kept for its retry
                // (an organization was created), which the event must not hide.
                if (await store.TryReplaceAsync(storeKey, claim.ClaimId, response, settings.KeyLifetime, CancellationToken.None))
                {
                    diagnostics.Set(StoredForReplay, response.StatusCode);
                }
            }
            catch (IdempotencyStoreUnavailableException)
            {
                // The work is done: answer it. The key stays pending; after its lease a retry reconciles by externalId.
                logger.LogWarning("Could not store the response of an idempotent request; its key stays pending");
            }
        }
        else
        {
            // Answered without effect (a 4xx): the same request may be sent again.
            await ReleaseAsync(storeKey, claim, keepForReconciliation: previousOutcomeUnknown, settings);
        }

        return new StoredResponseResult(response, replayed: false);
    }

    /// <summary>
    /// The answer for a key another request holds; or, when this request took the key over, no answer and the claim it
    /// now holds, which keeps the first attempt's start.
    /// </summary>
    private async Task<(IResult? Answer, PendingRequest Claim)> AnswerForHeldKeyAsync(
        HttpContext http, string storeKey, IdempotencyRecord held, PendingRequest claim, IdempotencyOptions settings)
    {
        if (held.Fingerprint != claim.Fingerprint)
        {
            return (Problem(ProblemReasons.IdempotencyKeyReused, "Unprocessable Content",
                $"This {IdempotencyKey.HeaderName} was already used with a different request body. Use a new key for a new request."), claim);
        }

        if (held is StoredResponse stored)
        {
            logger.LogInformation("Replaying the stored {StatusCode} response of an idempotent request", stored.StatusCode);
            return (new StoredResponseResult(stored, replayed: true), claim);
        }

        // Past its lease nobody works on the pending request any more: exactly one retry may take it over.
        var pending = (PendingRequest)held;
        // Records written before the first attempt's start was kept: no attempt outlives its lease.
        var takeover = claim with { FirstAttemptAt = pending.FirstAttemptAt ?? pending.LeaseExpires - settings.InFlightTimeout };
        if (pending.LeaseExpires <= time.GetUtcNow() && await TakeOverAsync(storeKey, pending, takeover, settings))
        {
            return (null, takeover);
        }

        RetryAfter.Set(http.Response, 1);
        return (Problem(ProblemReasons.IdempotencyKeyInFlight, "Conflict",
            $"A request with this {IdempotencyKey.HeaderName} is still being processed. Retry after it completes."), claim);
    }

    private async Task<bool> TakeOverAsync(string storeKey, PendingRequest pending, PendingRequest takeover, IdempotencyOptions settings)
    {
        try
        {
            return await store.TryReplaceAsync(storeKey, pending.ClaimId, takeover, settings.KeyLifetime, CancellationToken.None);
        }
        catch (IdempotencyStoreUnavailableException)
        {
            // A takeover that timed out was sent all the same: a store slow for a moment runs it afterwards, and this
            // caller, told 503, would meet its own takeover on the retry (409 for a whole lease). Putting the record
            // back is queued right behind it (with Redis, on the same connection), so it runs after it; not awaited,
            // as the store has just failed to answer.
            _ = RestoreAsync(storeKey, takeover.ClaimId, pending, settings);
            throw;
        }
    }

    private async Task RestoreAsync(string storeKey, string takeoverClaimId, PendingRequest pending, IdempotencyOptions settings)
    {
        try
        {
            await store.TryReplaceAsync(storeKey, takeoverClaimId, pending, settings.KeyLifetime, CancellationToken.None);
        }
        catch (IdempotencyStoreUnavailableException)
        {
            // Not run: the takeover's own lease runs out instead.
        }
    }

    // Once an attempt's outcome is unknown, only a success settles the key: a later failure cannot undo that doubt.
    // The store failing here must not replace the request's own answer (Scalekit's 400, a timeout's 504) with a 503
    // saying the store is needed, as if nothing had been done: the key stays pending, and after its lease a retry
    // reconciles by externalId.
    private async Task ReleaseAsync(string storeKey, PendingRequest claim, bool keepForReconciliation, IdempotencyOptions settings)
    {
        try
        {
            if (keepForReconciliation)
            {
                // Scalekit may have acted: keep the key with its lease ended, so the retry looks before it creates again.
                await store.TryReplaceAsync(storeKey, claim.ClaimId, claim with { LeaseExpires = time.GetUtcNow() }, settings.KeyLifetime, CancellationToken.None);
            }
            else
            {
                await store.TryRemoveAsync(storeKey, claim.ClaimId, CancellationToken.None);
            }
        }
        catch (IdempotencyStoreUnavailableException)
        {
            logger.LogWarning("Could not release the key of an idempotent request that did not succeed; it stays pending until its lease ends");
        }
    }

    // Runs the result into a buffer, so exactly what the caller gets can be stored.
    private static async Task<StoredResponse> CaptureAsync(HttpContext http, IResult result, string fingerprint)
    {
        var original = http.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        using var buffer = new MemoryStream();
        var capture = new StreamResponseBodyFeature(buffer);
        http.Features.Set<IHttpResponseBodyFeature>(capture);
        try
        {
            await result.ExecuteAsync(http);
            await capture.CompleteAsync();
        }
        finally
        {
            http.Features.Set(original);
        }

        var location = http.Response.Headers.Location.ToString();
        return new StoredResponse(fingerprint, http.Response.StatusCode, location.Length > 0 ? location : null, http.Response.ContentType, buffer.ToArray());
    }

    // A key belongs to one caller on one endpoint; hashed, so any store can hold it whatever the caller sent.
    private static string StoreKey(HttpContext http, string caller, string key)
    {
        var endpoint = http.StoredRouteTemplateOf() ?? http.Request.Path.Value;
        var text = string.Create(CultureInfo.InvariantCulture, $"{http.Request.Method} {endpoint}\n{caller}\n{key}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    // The bound body, not its bytes: whitespace and unknown fields do not make a different request, and neither does
    // the order of a map's keys (JSON objects are unordered, RFC 8259 section 4): metadata is hashed with its keys in
    // ordinal order. The body's own properties always come in declaration order and stay so, so a body whose maps were
    // already in order hashes as it did before (keys stored by a replica still running the previous version match).
    private string Fingerprint(TBody? body)
    {
        var options = json.Value.SerializerOptions;
        var canonical = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(canonical, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented }))
        {
            WriteOrdered(writer, JsonSerializer.SerializeToElement(body, options), orderMembers: false);
        }

        return Convert.ToHexStringLower(SHA256.HashData(canonical.WrittenSpan));
    }

    // The element as serialised, except that the members of nested objects are written in ordinal order.
    private static void WriteOrdered(Utf8JsonWriter writer, JsonElement element, bool orderMembers)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                IEnumerable<JsonProperty> members = element.EnumerateObject();
                foreach (var member in orderMembers ? members.OrderBy(member => member.Name, StringComparer.Ordinal) : members)
                {
                    writer.WritePropertyName(member.Name);
                    WriteOrdered(writer, member.Value, orderMembers: true);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteOrdered(writer, item, orderMembers: true);
                }

                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    // The request event's property naming the status stored for the key's retries.
    private const string StoredForReplay = "StoredForReplay";

    private static ProblemHttpResult Problem(ProblemReason reason, string title, string detail) =>
        TypedResults.Problem(ApiProblems.Create(reason, title, detail));
}
