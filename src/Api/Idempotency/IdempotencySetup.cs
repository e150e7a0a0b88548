using Api.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Api.Idempotency;

public static class IdempotencySetup
{
    /// <summary>Options and the record store (in memory unless another <see cref="IIdempotencyStore"/> is registered first).</summary>
    public static IServiceCollection AddIdempotency(this IServiceCollection services)
    {
        services.AddOptions<IdempotencyOptions>().BindConfiguration(IdempotencyOptions.SectionName)
            .ValidateKeysAreKnown(IdempotencyOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<IdempotencyOptions>, IdempotencyOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IIdempotencyStore, InMemoryIdempotencyStore>();
        return services;
    }

    /// <summary>Honours the <c>Idempotency-Key</c> header on this endpoint; register after validation, so invalid bodies claim no key.</summary>
    public static RouteHandlerBuilder WithIdempotency<TBody>(this RouteHandlerBuilder builder)
        where TBody : class =>
        builder.AddEndpointFilter<RouteHandlerBuilder, IdempotencyFilter<TBody>>()
            .WithMetadata(IdempotentEndpoint.Instance)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
}

/// <summary>Marks an endpoint that honours <c>Idempotency-Key</c> (read by the OpenAPI document).</summary>
public sealed class IdempotentEndpoint
{
    public static readonly IdempotentEndpoint Instance = new();

    private IdempotentEndpoint()
    {
    }
}
