namespace Api.Infrastructure;

/// <summary>A short, stable code clients can branch on, sent as a problem's <c>reason</c>, and the one status it comes with.</summary>
public sealed record ProblemReason(string Code, int Status);

/// <summary>
/// Every <c>reason</c> this API answers with. A problem names its reason only through this list
/// (<see cref="ApiProblems.Create(ProblemReason, string, string)"/>), so the status a code comes with cannot drift from
/// the one README's reason table and the OpenAPI document give it.
/// </summary>
public static class ProblemReasons
{
    public static readonly ProblemReason CredentialsRepeated = new("credentials_repeated", StatusCodes.Status400BadRequest);
    public static readonly ProblemReason CredentialsMalformed = new("credentials_malformed", StatusCodes.Status400BadRequest);
    public static readonly ProblemReason IdempotencyKeyMalformed = new("idempotency_key_malformed", StatusCodes.Status400BadRequest);
    public static readonly ProblemReason IdempotencyKeyUnscoped = new("idempotency_key_unscoped", StatusCodes.Status400BadRequest);

    public static readonly ProblemReason TokenMissing = new("token_missing", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason Malformed = new("malformed", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason Expired = new("expired", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason NotYetValid = new("not_yet_valid", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason BadIssuer = new("bad_issuer", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason BadAudience = new("bad_audience", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason BadAlgorithm = new("bad_algorithm", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason KidMissing = new("kid_missing", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason UnknownKid = new("unknown_kid", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason BadSignature = new("bad_signature", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason IdToken = new("id_token", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason BadTokenType = new("bad_token_type", StatusCodes.Status401Unauthorized);
    public static readonly ProblemReason InvalidToken = new("invalid_token", StatusCodes.Status401Unauthorized);

    public static readonly ProblemReason MissingGrant = new("missing_grant", StatusCodes.Status403Forbidden);
    public static readonly ProblemReason MissingRole = new("missing_role", StatusCodes.Status403Forbidden);
    public static readonly ProblemReason OidMissing = new("oid_missing", StatusCodes.Status403Forbidden);
    public static readonly ProblemReason NoPolicy = new("no_policy", StatusCodes.Status403Forbidden);

    public static readonly ProblemReason IdempotencyKeyInFlight = new("idempotency_key_in_flight", StatusCodes.Status409Conflict);

    public static readonly ProblemReason PreconditionUnsupported = new("precondition_unsupported", StatusCodes.Status412PreconditionFailed);

    public static readonly ProblemReason MediaTypeUnsupported = new("media_type_unsupported", StatusCodes.Status415UnsupportedMediaType);
    public static readonly ProblemReason CharsetUnsupported = new("charset_unsupported", StatusCodes.Status415UnsupportedMediaType);
    public static readonly ProblemReason ContentEncodingUnsupported = new("content_encoding_unsupported", StatusCodes.Status415UnsupportedMediaType);

    public static readonly ProblemReason IdempotencyKeyReused = new("idempotency_key_reused", StatusCodes.Status422UnprocessableEntity);

    public static readonly ProblemReason RateLimited = new("rate_limited", StatusCodes.Status429TooManyRequests);

    public static readonly ProblemReason TransferCodingUnsupported = new("transfer_coding_unsupported", StatusCodes.Status501NotImplemented);

    public static readonly ProblemReason SigningKeysUnavailable = new("signing_keys_unavailable", StatusCodes.Status503ServiceUnavailable);
    public static readonly ProblemReason IdempotencyStoreFull = new("idempotency_store_full", StatusCodes.Status503ServiceUnavailable);
    public static readonly ProblemReason OrganizationBusy = new("organization_busy", StatusCodes.Status503ServiceUnavailable);

    public static IReadOnlyList<ProblemReason> All { get; } =
    [
        CredentialsRepeated, CredentialsMalformed, IdempotencyKeyMalformed, IdempotencyKeyUnscoped,
        TokenMissing, Malformed, Expired, NotYetValid, BadIssuer, BadAudience, BadAlgorithm, KidMissing, UnknownKid, BadSignature,
        IdToken, BadTokenType, InvalidToken,
        MissingGrant, MissingRole, OidMissing, NoPolicy,
        IdempotencyKeyInFlight,
        PreconditionUnsupported,
        MediaTypeUnsupported, CharsetUnsupported, ContentEncodingUnsupported,
        IdempotencyKeyReused,
        RateLimited,
        TransferCodingUnsupported,
        SigningKeysUnavailable, IdempotencyStoreFull, OrganizationBusy,
    ];
}
