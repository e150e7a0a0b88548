using System.Text.Json;
using System.Text.Json.Serialization;
using Api.Organizations;

namespace Api.Infrastructure;

/// <summary>
/// Compile-time JSON metadata for this API's own bodies (camelCase, the web defaults). Types not listed here still
/// work through the reflection resolver behind it; list new request and response records to keep them off it.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(OrganizationResponse))]
[JsonSerializable(typeof(CreateOrganizationRequest))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

public static class JsonSetup
{
    /// <summary>Request and response bodies use the source-generated <see cref="ApiJsonContext"/> first.</summary>
    public static IServiceCollection AddApiJson(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default));
}
