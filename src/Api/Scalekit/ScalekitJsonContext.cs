using System.Text.Json.Serialization;

namespace Api.Scalekit;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = true,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(ScalekitOrganizationEnvelope))]
[JsonSerializable(typeof(ScalekitCreateOrganization))]
[JsonSerializable(typeof(ScalekitUpdateOrganization))]
[JsonSerializable(typeof(ScalekitOrganizationSettings))]
[JsonSerializable(typeof(ScalekitOrganizationList))]
[JsonSerializable(typeof(ScalekitPortalLinkEnvelope))]
[JsonSerializable(typeof(ScalekitTokenResponse))]
[JsonSerializable(typeof(ScalekitStatus))]
public sealed partial class ScalekitJsonContext : JsonSerializerContext;
