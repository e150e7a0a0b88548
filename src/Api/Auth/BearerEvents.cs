using Api.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace Api.Auth;

/// <summary>Turns bearer challenges into Problem Details: 401 with RFC 6750 headers, or 503 when no key was ever loaded.</summary>
internal sealed class BearerEvents(BearerChallengeWriter writer) : JwtBearerEvents
{
    /// <summary>
    /// Two <c>Authorization</c> headers reach the handler joined into one string ("Bearer a, Bearer b") and used to
    /// fail as a malformed token (401). RFC 6750 §3.1 makes credentials sent more than once an
    /// <c>invalid_request</c>, answered 400: no token is judged.
    /// </summary>
    public override Task MessageReceived(MessageReceivedContext context)
    {
        if (context.Request.Headers.Authorization.Count > 1)
        {
            context.Fail(new RepeatedCredentialsException());
        }

        return Task.CompletedTask;
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
        if (FindKeysUnavailable(failure) is { } unavailable)
        {
            logger.LogWarning("Answering 503: no Scalekit signing key is loaded yet");
            audit.Denied(http, "signing_keys_unavailable");
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            RetryAfter.Set(http.Response, RetryAfter.Seconds(unavailable.RetryAfter));
            await WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "Service Unavailable",
                "The signing keys needed to check access tokens could not be loaded from Scalekit. Try again later.", "signing_keys_unavailable");
            return;
        }

        if (failure is RepeatedCredentialsException)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_request\", error_description=\"Send one Authorization header.\"";
            audit.Denied(http, "credentials_repeated");
            await WriteAsync(http, StatusCodes.Status400BadRequest, "Bad Request",
                "The request carries more than one Authorization header; send the access token once.", "credentials_repeated");
            return;
        }

        http.Response.StatusCode = StatusCodes.Status401Unauthorized;
        if (failure is null)
        {
            // RFC 6750 §3.1: a request without credentials gets a bare challenge.
            http.Response.Headers.WWWAuthenticate = "Bearer";
            audit.Denied(http, "token_missing");
            await WriteAsync(http, StatusCodes.Status401Unauthorized, "Unauthorized",
                "A Scalekit access token is required in the Authorization header (Bearer).", "token_missing");
            return;
        }

        var reason = TokenFailureReason.Of(failure);
        audit.Denied(http, reason.Code);
        http.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{reason.Description}\"";
        await WriteAsync(http, StatusCodes.Status401Unauthorized, "Unauthorized", reason.Description, reason.Code);
    }

    private Task WriteAsync(HttpContext http, int status, string title, string detail, string reason) =>
        problems.WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = ApiProblems.Create(status, title, detail, reason) })
            .AsTask();

    private static SigningKeysUnavailableException? FindKeysUnavailable(Exception? failure) => failure switch
    {
        SigningKeysUnavailableException direct => direct,
        AggregateException aggregate => aggregate.InnerExceptions.OfType<SigningKeysUnavailableException>().FirstOrDefault(),
        _ => null,
    };
}

/// <summary>A short, stable reason code for a rejected token (for the response, the audit log and metrics).</summary>
public sealed record TokenFailureReason(string Code, string Description)
{
    public static TokenFailureReason Of(Exception? failure) => failure switch
    {
        AggregateException { InnerExceptions.Count: > 0 } aggregate => Of(aggregate.InnerExceptions[0]),
        SecurityTokenExpiredException => new("expired", "The access token expired."),
        SecurityTokenNotYetValidException => new("not_yet_valid", "The access token is not valid yet."),
        SecurityTokenNoExpirationException => new("invalid_token", "The access token has no expiry."),
        SecurityTokenInvalidAudienceException => new("bad_audience", "The access token was issued for another audience."),
        SecurityTokenInvalidIssuerException => new("bad_issuer", "The access token was issued by another issuer."),
        SecurityTokenSignatureKeyNotFoundException => new("unknown_kid", "The access token was signed with an unknown key."),
        SecurityTokenInvalidSignatureException => new("bad_signature", "The access token signature is invalid."),
        SecurityTokenInvalidAlgorithmException => new("bad_algorithm", "The access token must be signed with RS256."),
        IdTokenRejectedException => new("id_token", "An ID token is not an access token."),
        SecurityTokenMalformedException => new("malformed", "The access token is malformed."),
        _ => new("invalid_token", "The access token is invalid."),
    };
}

/// <summary>The request sent its credentials more than once (RFC 6750 §3.1 <c>invalid_request</c>).</summary>
public sealed class RepeatedCredentialsException() : Exception("The request carries more than one Authorization header.");
