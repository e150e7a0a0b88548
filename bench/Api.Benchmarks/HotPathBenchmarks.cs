using System.Security.Claims;
using System.Text.Json;
using Api.Auth;
using Api.Infrastructure;
using Api.Organizations;
using Api.Scalekit;
using BenchmarkDotNet.Attributes;

namespace Api.Benchmarks;

/// <summary>Per-request work after authentication: the policy decision and the body mapping and writing.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private const string Acme = "org_100000000000000001";

    private static readonly AccessRuleRequirement ReadOrganization = new(Policies.ReadOrganization, new AccessRule
    {
        AnyOf =
        [
            new AccessAlternative { Grants = ["organizations:read"], SameOrganization = true },
            new AccessAlternative { Grants = ["organizations:read_all"] },
        ],
    });

    private static readonly JsonSerializerOptions Reflection = new(JsonSerializerDefaults.Web);
    private static readonly JsonSerializerOptions SourceGenerated = new(JsonSerializerDefaults.Web)
    {
        TypeInfoResolverChain = { ApiJsonContext.Default },
    };

    private readonly ClaimsPrincipal _member = Principal("organizations:read");
    private readonly ClaimsPrincipal _platform = Principal("organizations:read_all");

    private readonly ScalekitOrganizationEnvelope _wire = new()
    {
        Organization = new ScalekitOrganization
        {
            Id = Acme, DisplayName = "Acme Corp", ExternalId = "acme", Metadata = new() { ["tier"] = "gold" }, RegionCode = "US",
            Slug = "acme", LogoUrl = "", CreateTime = "2025-01-02T03:04:05.123456789Z", UpdateTime = "2025-01-02T03:04:05Z",
            Settings = new ScalekitOrganizationSettings { Features = [new ScalekitFeature { Name = "sso", Enabled = true }] },
        },
    };

    private readonly CreateOrganizationRequest _create = new("Initech", "crm-42", new() { ["tier"] = "gold" }, "initech", null, "US");

    private OrganizationResponse _response = null!;

    [GlobalSetup]
    public void Setup() => _response = _wire.ToResponse();

    [Benchmark(Description = "policy: member reads own organization")]
    public bool PolicyAllowed() => ReadOrganization.Evaluate(_member, new OrganizationTarget(Acme, Pending: false)).Allowed;

    [Benchmark(Description = "policy: member reads another organization")]
    public bool PolicyMismatch() => ReadOrganization.Evaluate(_member, new OrganizationTarget("org_200000000000000002", Pending: false)).Allowed;

    [Benchmark(Description = "policy: read_all")]
    public bool PolicyReadAll() => ReadOrganization.Evaluate(_platform, new OrganizationTarget(Acme, Pending: false)).Allowed;

    [Benchmark(Description = "map Scalekit organization -> response")]
    public OrganizationResponse ToResponse() => _wire.ToResponse();

    [Benchmark(Description = "map create request -> Scalekit body")]
    public ScalekitCreateOrganization ToWire() => _create.ToWire();

    [Benchmark(Description = "write response JSON, source-generated")]
    public byte[] WriteSourceGenerated() => JsonSerializer.SerializeToUtf8Bytes(_response, SourceGenerated);

    [Benchmark(Description = "write response JSON, reflection")]
    public byte[] WriteReflection() => JsonSerializer.SerializeToUtf8Bytes(_response, Reflection);

    private static ClaimsPrincipal Principal(string permission) => new(new ClaimsIdentity(
    [
        new Claim(ScalekitClaims.Subject, "usr_1"),
        new Claim(ScalekitClaims.OrganizationId, Acme),
        new Claim(ScalekitClaims.Roles, "member"),
        new Claim(ScalekitClaims.Permissions, permission),
        new Claim(ScalekitClaims.Permissions, "organizations:create"),
    ], "Bearer"));
}
