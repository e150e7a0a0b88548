using Api.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace Api.Auth;

/// <summary>Turns bearer challenges into Problem Details: 401 with RFC 6750 headers, or 503 when no key was ever loaded.</summary>
internal sealed class BearerEvents(BearerChallengeWriter writer) : JwtBearerEvents
{
    /// <summary>
    /// Bearer credentials out of syntax are an <c>invalid_request</c> (RFC 6750 §3.1), answered 400: no token is
    /// judged. Two <c>Authorization</c> headers reach the handler joined into one string ("Bearer a, Bearer b") and
    /// would fail as a malformed token (401); a tab after the scheme ("Bearer\ttoken") would be "no token" (401), as
    /// the handler only looks past "Bearer" and a space.
    /// </summary>
    public override Task MessageReceived(MessageReceivedContext context)
    {
        var authorization = context.Request.Headers.Authorization;
        if (authorization.Count > 1)
        {
            context.Fail(InvalidCredentialsException.Repeated());
        }
        else if (IsMalformedBearer(authorization.ToString()))
        {
            context.Fail(InvalidCredentialsException.Malformed());
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Whether the credentials name the Bearer scheme (in any case, RFC 9110 §11.1) but are not "Bearer", one or more
    /// spaces and a token without whitespace (RFC 6750 §2.1). What the token holds is the handler's to judge (401).
    /// Another scheme ("Basic ...") is no Bearer token at all.
    /// </summary>
    private static bool IsMalformedBearer(string authorization)
    {
        var schemeLength = authorization.AsSpan().IndexOfAny(' ', '\t') is var end and >= 0 ? end : authorization.Length;
        if (!authorization.AsSpan(0, schemeLength).Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var afterScheme = authorization.AsSpan(schemeLength);
        // "Bearer" alone (what "Bearer ${token}" becomes with an empty token, once the header is trimmed) sends no token:
        // RFC 6750 §3.1 answers a request without authentication information 401 without an error code, the answer
        // clients take for "sign in again".
        if (afterScheme.IsEmpty)
        {
            return false;
        }

        var token = afterScheme.TrimStart(' ');
        return token.IsEmpty || token.Length == afterScheme.Length || token.ContainsAny(' ', '\t');
    }

    public override Task Challenge(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        return writer.WriteChallengeAsync(context.HttpContext, context.AuthenticateFailure);
    }
}

internal sealed class BearerChallengeWriter(IProblemDetailsService problems, AccessAudit audit, ILogger<BearerChallengeWriter> logger)
{
    public async Task WriteChallengeAsync(HttpContext http, Exception? failure)
    {
        // The caller left while its token waited on a JWKS fetch, which stopped its wait: the token was never judged,
        // so nothing is audited, and nobody is there to answer.
        if (failure is OperationCanceledException && HangUps.RecordIfGone(http))
        {
            return;
        }

        if (FindKeysUnavailable(failure) is { } unavailable)
        {
            logger.LogWarning("Answering 503: no Scalekit signing key is loaded yet");
            audit.Denied(http, ProblemReasons.SigningKeysUnavailable.Code);
            RetryAfter.Set(http.Response, RetryAfter.Seconds(unavailable.RetryAfter));
            await WriteAsync(http, ProblemReasons.SigningKeysUnavailable, "Service Unavailable",
                "The signing keys needed to check access tokens could not be loaded from Scalekit. Try again later.");
            return;
        }

        if (failure is InvalidCredentialsException invalid)
        {
            http.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_request\", error_description=\"{invalid.Description}\"";
            audit.Denied(http, invalid.Reason.Code);
            await WriteAsync(http, invalid.Reason, "Bad Request", invalid.Message);
            return;
        }

        if (failure is null)
        {
            // RFC 6750 §3.1: a request without credentials gets a bare challenge.
            http.Response.Headers.WWWAuthenticate = "Bearer";
            audit.Denied(http, ProblemReasons.TokenMissing.Code);
            await WriteAsync(http, ProblemReasons.TokenMissing, "Unauthorized",
                "A Scalekit access token is required in the Authorization header (Bearer).");
            return;
        }

        var reason = TokenFailureReason.Of(failure);
        audit.Denied(http, reason.Code);
        http.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{reason.Description}\"";
        await WriteAsync(http, reason.Reason, "Unauthorized", reason.Description);
    }

    // Audited first: the token was judged whether or not its caller stayed for the answer (it may have left while
    // the token waited on a JWKS refetch shared with other callers).
    private Task WriteAsync(HttpContext http, ProblemReason reason, string title, string detail)
    {
        if (HangUps.RecordIfGone(http))
        {
            return Task.CompletedTask;
        }

        http.Response.StatusCode = reason.Status;
        return problems.WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = ApiProblems.Create(reason, title, detail) })
            .AsTask();
    }

    private static SigningKeysUnavailableException? FindKeysUnavailable(Exception? failure) => failure switch
    {
        SigningKeysUnavailableException direct => direct,
        AggregateException aggregate => aggregate.InnerExceptions.OfType<SigningKeysUnavailableException>().FirstOrDefault(),
        _ => null,
    };
}

/// <summary>A short, stable reason code for a rejected token (for the response, the audit log and metrics).</summary>
public sealed record TokenFailureReason(ProblemReason Reason, string Description)
{
    public string Code => Reason.Code;

    public static TokenFailureReason Of(Exception? failure) => failure switch
    {
        AggregateException { InnerExceptions.Count: > 0 } aggregate => Of(aggregate.InnerExceptions[0]),
        SecurityTokenExpiredException => new(ProblemReasons.Expired, "The access token expired."),
        SecurityTokenNotYetValidException => new(ProblemReasons.NotYetValid, "The access token is not valid yet."),
        SecurityTokenNoExpirationException => new(ProblemReasons.InvalidToken, "The access token has no expiry."),
        SecurityTokenInvalidAudienceException => new(ProblemReasons.BadAudience, "The access token was issued for another audience."),
        SecurityTokenInvalidIssuerException => new(ProblemReasons.BadIssuer, "The access token was issued by another issuer."),
        KidMissingException => new(ProblemReasons.KidMissing, "The access token's header has no kid naming the key that signed it."),
        SecurityTokenSignatureKeyNotFoundException => new(ProblemReasons.UnknownKid, "The access token was signed with an unknown key."),
        SecurityTokenInvalidSignatureException => new(ProblemReasons.BadSignature, "The access token signature is invalid."),
        SecurityTokenInvalidAlgorithmException => new(ProblemReasons.BadAlgorithm, "The access token must be signed with RS256."),
        IdTokenRejectedException => new(ProblemReasons.IdToken, "An ID token is not an access token."),
        TokenTypeRejectedException => new(ProblemReasons.BadTokenType, "The token's typ header says it is not an access token."),
        SecurityTokenMalformedException => new(ProblemReasons.Malformed, "The access token is malformed."),
        _ => new(ProblemReasons.InvalidToken, "The access token is invalid."),
    };
}

/// <summary>
/// The request's credentials are out of syntax (RFC 6750 §3.1 <c>invalid_request</c>): a <paramref name="reason"/>,
/// a short <paramref name="description"/> for <c>WWW-Authenticate</c> and the problem's detail as the message.
/// </summary>
public sealed class InvalidCredentialsException(ProblemReason reason, string description, string detail) : Exception(detail)
{
    public ProblemReason Reason { get; } = reason;

    public string Description { get; } = description;

    public static InvalidCredentialsException Repeated() => new(ProblemReasons.CredentialsRepeated, "Send one Authorization header.",
        "The request carries more than one Authorization header; send the access token once.");

    public static InvalidCredentialsException Malformed() => new(ProblemReasons.CredentialsMalformed, "Send Bearer, a space and the token.",
        "The Authorization header is malformed: send 'Bearer', a space and the access token, with no other whitespace.");
}
