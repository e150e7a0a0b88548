using System.Text.Json;
using System.Text.Json.Serialization;
using Api.Organizations;

namespace Api.Infrastructure;

/// <summary>
/// Compile-time JSON metadata for every body this API reads or writes (camelCase, the web defaults). Types not listed
/// here still work through the reflection resolver behind it; list new request and response types to keep them off it.
/// One is left to reflection on purpose: <see cref="UpdateOrganizationRequest"/>, whose init setters record which
/// fields a merge patch sent. Generated metadata assigns every init-only property, absent ones included, so an
/// absent field would read as "set to null".
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(OrganizationResponse))]
[JsonSerializable(typeof(OrganizationListResponse))]
[JsonSerializable(typeof(CreateOrganizationRequest))]
[JsonSerializable(typeof(UpdateOrganizationSettingsRequest))]
[JsonSerializable(typeof(PortalLinkRequest))]
[JsonSerializable(typeof(PortalLinkResponse))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

public static class JsonSetup
{
    /// <summary>
    /// Request and response bodies use the source-generated <see cref="ApiJsonContext"/> first. A body that names a
    /// property twice is refused: which copy wins is the parser's choice, and a proxy or WAF in front may have read the
    /// other one (in a metadata merge patch, <c>{"k":"v","k":null}</c> would both set and remove a key).
    /// </summary>
    public static IServiceCollection AddApiJson(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            options.SerializerOptions.AllowDuplicateProperties = false;
            // The web defaults read numbers from strings too, and the OpenAPI document follows the options it is
            // given: it described every number this API writes (totalSize, a problem's status) as "integer or
            // string". No body this API reads has a number, so nothing is refused that was accepted.
            options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
}
