using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Scalekit.Emulator.Errors;

/// <summary>Scalekit's error body: a google.rpc.Status whose <c>code</c> is the gRPC status number.</summary>
internal sealed record ScalekitError(int Code, string Message, IReadOnlyList<ErrorInfo> Details)
{
    private const string ErrorInfoType = "type.googleapis.com/scalekit.v1.errdetails.ErrorInfo";

    public static JsonHttpResult<ScalekitError> InvalidArgument(IReadOnlyList<FieldViolation> violations) =>
        TypedResults.Json(
            new ScalekitError(
                3,
                string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}")),
                [new ErrorInfo(ErrorInfoType, "INVALID_ARGUMENT", new ValidationErrorInfo(violations))]),
            statusCode: StatusCodes.Status400BadRequest);

    public static JsonHttpResult<ScalekitError> InvalidArgument(string field, string description) =>
        InvalidArgument([new FieldViolation(field, description)]);

    /// <summary>A body that is not JSON or has the wrong JSON types: no field to blame.</summary>
    public static JsonHttpResult<ScalekitError> MalformedBody(string message) =>
        TypedResults.Json(
            new ScalekitError(3, message, [new ErrorInfo(ErrorInfoType, "INVALID_ARGUMENT", null)]),
            statusCode: StatusCodes.Status400BadRequest);

    public static JsonHttpResult<ScalekitError> NotFound(string message) =>
        TypedResults.Json(
            new ScalekitError(5, message, [new ErrorInfo(ErrorInfoType, "NOT_FOUND", null)]),
            statusCode: StatusCodes.Status404NotFound);

    public static JsonHttpResult<ScalekitError> AlreadyExists(string message) =>
        TypedResults.Json(
            new ScalekitError(6, message, [new ErrorInfo(ErrorInfoType, "ALREADY_EXISTS", null)]),
            statusCode: StatusCodes.Status409Conflict);

    public static JsonHttpResult<ScalekitError> Unauthenticated(string message) =>
        TypedResults.Json(
            new ScalekitError(16, message, [new ErrorInfo(ErrorInfoType, "UNAUTHENTICATED", null)]),
            statusCode: StatusCodes.Status401Unauthorized);
}

internal sealed record ErrorInfo(
    [property: JsonPropertyName("@type")] string Type,
    string ErrorCode,
    ValidationErrorInfo? ValidationErrorInfo);

internal sealed record ValidationErrorInfo(IReadOnlyList<FieldViolation> FieldViolations);

internal sealed record FieldViolation(string Field, string Description);
