using System.Globalization;
using System.Text.Json.Nodes;
using Api.Auth;
using Api.Organizations;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Api.Infrastructure;

public static class OpenApiSetup
{
    private const string BearerScheme = "Bearer";

    /// <summary>The OpenAPI document is inferred from the endpoints; transformers add bearer security and grants.</summary>
    public static IServiceCollection AddApiOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer(DescribeDocument);
            options.AddOperationTransformer<RequiredGrantsTransformer>();
            options.AddOperationTransformer(DescribeListQuery);
            options.AddOperationTransformer(DescribeResponseHeaders);
            options.AddOperationTransformer(DescribePathLimits);
            options.AddSchemaTransformer(DescribeMetadataRemoval);
            options.AddSchemaTransformer(DescribeRefusedNulls);
            options.AddSchemaTransformer(DescribeFieldLimits);
            options.AddSchemaTransformer(HideRegionCodeOnPatch);
            options.AddSchemaTransformer(DescribeProblemMembers);
        });

    /// <summary><c>/openapi/v1.json</c> for everyone, generated once; the interactive Scalar UI only in Development.</summary>
    public static WebApplication MapApiOpenApi(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous().AddEndpointFilter(new OpenApiDocumentCache());
        if (app.Environment.IsDevelopment())
        {
            app.MapScalarApiReference().AllowAnonymous();
        }

        return app;
    }

    private static Task DescribeDocument(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        // Every read also answers HEAD (RFC 9110 §9.1); listing it again would repeat each GET under the same operationId.
        foreach (var path in document.Paths.Values)
        {
            path.Operations?.Remove(HttpMethod.Head);
        }

        // The generator names the Host of the request that asked; the document is served alike to everyone
        // (OpenApiDocumentCache), and without servers a client resolves paths against where it fetched it from.
        document.Servers = null;
        document.Info.Title = "Organizations API";
        document.Info.Description = "Scalekit organizations behind Scalekit access tokens. Every error is application/problem+json.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A Scalekit access token (RS256). User tokens carry `permissions`, machine-to-machine tokens `scopes`.",
        };
        return Task.CompletedTask;
    }

    /// <summary>
    /// <c>pageSize</c> is bound as text so that a non-number gets a named validation error
    /// (<see cref="ListOrganizationsQuery.PageSize"/>); to clients it is an integer. <c>pageToken</c> and
    /// <c>externalId</c> carry the lengths their validator allows.
    /// </summary>
    private static Task DescribeListQuery(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (operation.Parameters?.FirstOrDefault(p => p.Name == "pageToken" && p.In == ParameterLocation.Query) is OpenApiParameter { Schema: OpenApiSchema pageToken })
        {
            pageToken.MaxLength = ListOrganizationsQuery.MaxPageTokenLength;
        }

        if (operation.Parameters?.FirstOrDefault(p => p.Name == "externalId" && p.In == ParameterLocation.Query) is OpenApiParameter { Schema: OpenApiSchema externalId })
        {
            externalId.MaxLength = ExternalIds.MaxLength;
        }

        if (operation.Parameters?.FirstOrDefault(p => p.Name == "pageSize" && p.In == ParameterLocation.Query) is OpenApiParameter pageSize)
        {
            pageSize.Description = $"Organizations per page, 1-{ListOrganizationsQuery.MaxPageSize} (default {ListOrganizationsQuery.DefaultPageSize}).";
            pageSize.Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.Integer,
                Format = "int32",
                Minimum = "1",
                Maximum = ListOrganizationsQuery.MaxPageSize.ToString(CultureInfo.InvariantCulture),
                Default = JsonValue.Create(ListOrganizationsQuery.DefaultPageSize),
            };
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// The ids a path may carry: an organization id Scalekit could have issued (any other is 404 without a call to
    /// Scalekit) and an external id within the create rule's length. A generated client then knows them as it knows
    /// the body's limits.
    /// </summary>
    private static Task DescribePathLimits(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            if (parameter is not { In: ParameterLocation.Path, Schema: OpenApiSchema schema })
            {
                continue;
            }

            switch (parameter.Name)
            {
                case "id":
                    schema.Pattern = OrganizationId.Pattern;
                    parameter.Description = "The organization's Scalekit id (`org_...`); any other value is 404.";
                    break;
                case "externalId":
                    schema.MinLength = 1;
                    schema.MaxLength = ExternalIds.MaxLength;
                    parameter.Description = "The organization's external id, percent-encoded as one path segment (`/` as `%2F`); `.` and `..` cannot be looked up by path: list with `?externalId=` instead.";
                    break;
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// The response headers a client acts on, which the generator cannot see (they are set by filters, the
    /// authentication events and the exception handler): where a created organization lives, that a create was
    /// replayed, what a 401 or 403 challenges, and how long to wait before retrying a 429, a 503 (every one carries it)
    /// or a 409 for an Idempotency-Key still in flight.
    /// </summary>
    private static Task DescribeResponseHeaders(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var idempotent = context.Description.ActionDescriptor.EndpointMetadata.OfType<Idempotency.IdempotentEndpoint>().Any();
        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (response is not OpenApiResponse described)
            {
                continue;
            }

            switch (status)
            {
                case "201":
                    AddHeader(described, "Location", "The new organization's path, `/organizations/{id}`.", JsonSchemaType.String, required: true);
                    if (idempotent)
                    {
                        AddHeader(described, Idempotency.StoredResponseResult.ReplayedHeader,
                            "`true` when this is the stored response of an earlier request with the same Idempotency-Key; absent otherwise.",
                            JsonSchemaType.String);
                    }

                    break;
                case "401" or "403":
                    AddHeader(described, "WWW-Authenticate",
                        "The Bearer challenge (RFC 6750 §3): `Bearer` alone when no token was sent, `error=\"invalid_token\"` with an "
                            + "`error_description` for a token refused, `error=\"insufficient_scope\"` with the `scope` that would do on a 403.",
                        JsonSchemaType.String, required: true);
                    break;
                case "429" or "503":
                    AddRetryAfter(described, required: true);
                    break;
                case "409" when idempotent:
                    AddRetryAfter(described, required: false);
                    break;
            }
        }

        return Task.CompletedTask;
    }

    private static void AddRetryAfter(OpenApiResponse response, bool required) =>
        AddHeader(response, "Retry-After",
            required
                ? "Seconds to wait before retrying."
                : "Seconds to wait before retrying, when the Idempotency-Key is still in flight (`reason` `idempotency_key_in_flight`).",
            new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1", Maximum = "3600" }, required);

    private static void AddHeader(OpenApiResponse response, string name, string description, JsonSchemaType type, bool required = false) =>
        AddHeader(response, name, description, new OpenApiSchema { Type = type }, required);

    private static void AddHeader(OpenApiResponse response, string name, string description, OpenApiSchema schema, bool required)
    {
        response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        response.Headers[name] = new OpenApiHeader { Description = description, Required = required, Schema = schema };
    }

    /// <summary>
    /// In a merge patch a metadata key set to null is removed (<see cref="UpdateOrganizationRequest"/>). The generator
    /// cannot see the nullable value type of <c>Dictionary&lt;string, string?&gt;</c>, which at run time is the create
    /// body's <c>Dictionary&lt;string, string&gt;</c>, so it would describe the values as strings only.
    /// </summary>
    private static Task DescribeMetadataRemoval(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is { Name: "metadata" } property
            && property.DeclaringType == typeof(UpdateOrganizationRequest)
            && schema.AdditionalProperties is OpenApiSchema values)
        {
            values.Type = JsonSchemaType.String | JsonSchemaType.Null;
            schema.Description = "Merged key by key: a key with a string value is set, a key with null is removed; null removes every key.";
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Properties nullable in the request types only so that a missing or null one reaches the validator, which
    /// refuses it with a message naming the field: displayName (required on create, cannot be cleared on PATCH), and a
    /// settings change's features and each feature's name and enabled.
    /// </summary>
    private static readonly (Type DeclaringType, string Name)[] RefusedWhenNull =
    [
        (typeof(CreateOrganizationRequest), "displayName"),
        (typeof(UpdateOrganizationRequest), "displayName"),
        (typeof(UpdateOrganizationSettingsRequest), "features"),
        (typeof(FeatureSettingRequest), "name"),
        (typeof(FeatureSettingRequest), "enabled"),
    ];

    private static Task DescribeRefusedNulls(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is { } property
            && schema.Type is { } type
            && RefusedWhenNull.Contains((property.DeclaringType, property.Name)))
        {
            schema.Type = type & ~JsonSchemaType.Null;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// The validators' limits that JSON Schema states exactly, so that a client generated from the document refuses
    /// what the API would (a regionCode other than US or EU, an uppercase slug, an http logoUrl, an unknown portal
    /// feature). Rules it cannot state (control characters, a blank displayName, credentials in a URL) stay in the
    /// validators and their 400s. A merge patch's metadata is not limited here: a null value removes a key of any
    /// length, and the 10 pairs are counted after merging.
    /// </summary>
    private static Task DescribeFieldLimits(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is not { } property)
        {
            return Task.CompletedTask;
        }

        var declaringType = property.DeclaringType;
        var organizationBody = declaringType == typeof(CreateOrganizationRequest) || declaringType == typeof(UpdateOrganizationRequest);
        switch (property.Name)
        {
            case "externalId" when organizationBody:
                schema.MinLength = 1;
                schema.MaxLength = ExternalIds.MaxLength;
                break;
            case "slug" when organizationBody:
                schema.MaxLength = OrganizationRules.MaxSlugLength;
                schema.Pattern = EcmaPattern(OrganizationRules.SlugRegex);
                break;
            case "logoUrl" when organizationBody:
                schema.MaxLength = OrganizationRules.MaxLogoUrlLength;
                schema.Format = "uri";
                schema.Pattern = "^https://";
                break;
            case "regionCode" when declaringType == typeof(CreateOrganizationRequest):
                schema.Enum = [.. OrganizationRules.RegionCodes.Select(code => (JsonNode)code), null!];
                break;
            case "metadata" when declaringType == typeof(CreateOrganizationRequest) && schema.AdditionalProperties is OpenApiSchema values:
                schema.MaxProperties = OrganizationRules.MaxMetadataPairs;
                schema.PropertyNames = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    MinLength = OrganizationRules.MinMetadataKeyLength,
                    MaxLength = OrganizationRules.MaxMetadataKeyLength,
                };
                values.MinLength = 1;
                values.MaxLength = OrganizationRules.MaxMetadataValueLength;
                break;
            case "features" when declaringType == typeof(UpdateOrganizationSettingsRequest):
                schema.MinItems = 1;
                schema.MaxItems = UpdateOrganizationSettingsRequestValidator.MaxFeatures;
                break;
            case "name" when declaringType == typeof(FeatureSettingRequest):
                schema.Pattern = EcmaPattern(OrganizationRules.FeatureNameRegex);
                break;
            case "features" when declaringType == typeof(PortalLinkRequest) && schema.Items is OpenApiSchema feature:
                feature.Enum = [.. PortalLinkRequestValidator.KnownFeatures.Select(name => (JsonNode)name)];
                break;
        }

        return Task.CompletedTask;
    }

    // .NET's end-of-input \z is ECMA-262's $ when the pattern is not multiline, as JSON Schema's patterns are not.
    private static string EcmaPattern(string dotnetPattern) =>
        dotnetPattern.EndsWith(@"\z", StringComparison.Ordinal) ? string.Concat(dotnetPattern.AsSpan(0, dotnetPattern.Length - 2), "$") : dotnetPattern;

    /// <summary>
    /// A PATCH reads regionCode only to refuse it with a message naming it (it cannot change once the organization
    /// exists): not a field to offer a client.
    /// </summary>
    private static Task HideRegionCodeOnPatch(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type == typeof(UpdateOrganizationRequest))
        {
            schema.Properties?.Remove("regionCode");
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// What every problem body carries, as <see cref="ProblemDetailsSetup"/> and <see cref="ApiProblems"/> write it: the
    /// generator sees only <see cref="ProblemDetails"/>' own members, each nullable, so a generated client had no
    /// <c>traceId</c> to quote in a support request and no <c>reason</c> to branch on. The writer leaves out a member
    /// that is null, so none is ever null on the wire.
    /// </summary>
    private static Task DescribeProblemMembers(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is not null
            || !typeof(ProblemDetails).IsAssignableFrom(context.JsonTypeInfo.Type)
            || schema.Properties is not { } properties)
        {
            return Task.CompletedTask;
        }

        foreach (var member in properties.Values.OfType<OpenApiSchema>())
        {
            member.Type &= ~JsonSchemaType.Null;
        }

        if (properties.TryGetValue("type", out var type) && type is OpenApiSchema typeUri)
        {
            typeUri.Format = "uri";
            typeUri.Description = "A URI naming the kind of problem; the same for every problem of one status.";
        }

        properties["traceId"] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "The request's W3C trace id, as in the API's logs and traces: quote it when reporting a problem.",
        };
        properties["reason"] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "A stable code for the cause, when a client can act on it (README, Errors); absent otherwise.",
            Enum = [.. ProblemReasons.All.Select(reason => (JsonNode)reason.Code)],
        };
        properties["requiredGrants"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Array,
            Items = new OpenApiSchema { Type = JsonSchemaType.String },
            Description = "On a 403: the grants (permissions or scopes) any one of which would have allowed the request.",
        };
        schema.Required = new HashSet<string>(StringComparer.Ordinal) { "type", "title", "status", "instance", "traceId" };
        return Task.CompletedTask;
    }

    /// <summary>Marks each protected operation with the bearer requirement and the grants its policy asks for.</summary>
    private sealed class RequiredGrantsTransformer(IOptions<AccessRulesOptions> rules) : IOpenApiOperationTransformer
    {
        public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var policy = Policies.In(metadata).LastOrDefault();
            if (policy is null || metadata.OfType<IAllowAnonymous>().Any())
            {
                return Task.CompletedTask;
            }

            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [],
            });

            if (metadata.OfType<Idempotency.IdempotentEndpoint>().Any())
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = Idempotency.IdempotencyKey.HeaderName,
                    In = ParameterLocation.Header,
                    Required = false,
                    Description = "Makes the request safe to retry: the same key and body replay the first response; "
                        + "another body is 422; a key still in flight is 409. Scoped to the caller, kept 24 h by default.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, Pattern = Idempotency.IdempotencyKey.Pattern },
                });
            }

            if (rules.Value.Policies.TryGetValue(policy, out var rule))
            {
                var requirement = $"Policy `{policy}`: {Describe(rule)}.";
                operation.Description = string.IsNullOrEmpty(operation.Description) ? requirement : $"{operation.Description}\n\n{requirement}";
                operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
                operation.Extensions["x-required-grants"] = new JsonNodeExtension(
                    new JsonArray(rule.AnyOf.SelectMany(a => a.Grants).Distinct().Select(g => (JsonNode?)g).ToArray()));
            }

            return Task.CompletedTask;
        }

        public static string Describe(AccessRule rule) => string.Join(" OR ", rule.AnyOf.Select(alternative =>
        {
            var parts = new List<string>();
            if (alternative.Grants.Count > 0)
            {
                parts.Add("grant " + string.Join(" or ", alternative.Grants.Select(g => $"`{g}`")));
            }

            parts.AddRange(alternative.Roles.Select(role => $"role `{role}`"));
            if (alternative.SameOrganization)
            {
                parts.Add("the token's `oid` is the organization");
            }

            return "(" + string.Join(" AND ", parts) + ")";
        }));
    }
}
