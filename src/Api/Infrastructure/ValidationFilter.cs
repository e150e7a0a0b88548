using System.Text.Json;
using FluentValidation;

namespace Api.Infrastructure;

/// <summary>Runs the FluentValidation validator of the endpoint's <typeparamref name="T"/> argument before the handler.</summary>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter
    where T : class
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var argument = context.Arguments.OfType<T>().FirstOrDefault();
        if (argument is null)
        {
            return await next(context);
        }

        var result = await validator.ValidateAsync(argument, context.HttpContext.RequestAborted);
        if (result.IsValid)
        {
            return await next(context);
        }

        var errors = result.Errors
            .GroupBy(failure => CamelCase(failure.PropertyName), StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Select(failure => failure.ErrorMessage).Distinct().ToArray(), StringComparer.Ordinal);
        return TypedResults.ValidationProblem(errors, detail: "The request has invalid fields.");
    }

    // "Metadata[key]" / "Settings.Features[0].Name" -> "metadata[key]" / "settings.features[0].name"
    private static string CamelCase(string propertyName) =>
        string.Join('.', propertyName.Split('.').Select(JsonNamingPolicy.CamelCase.ConvertName));
}

public static class ValidationFilterExtensions
{
    /// <summary>Validates the endpoint's <typeparamref name="T"/> argument first; failures are a 400 validation problem.</summary>
    public static RouteHandlerBuilder Validate<T>(this RouteHandlerBuilder builder)
        where T : class =>
        builder.AddEndpointFilter<RouteHandlerBuilder, ValidationFilter<T>>()
            .ProducesValidationProblem();

    /// <summary>A validated JSON body: 400 for invalid fields, 413 over the size limit, 415 when it is not JSON.</summary>
    public static RouteHandlerBuilder ValidateJsonBody<T>(this RouteHandlerBuilder builder)
        where T : class =>
        builder.Validate<T>()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
}
