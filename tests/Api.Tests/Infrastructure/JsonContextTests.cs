using Api.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Api.Tests.Infrastructure;

public sealed class JsonContextTests
{
    // Its init setters record which fields a merge patch sent; generated metadata would assign them all.
    private static readonly Type[] ReflectionOnPurpose = [typeof(Api.Organizations.UpdateOrganizationRequest)];

    [Fact]
    public void EveryBodyAnEndpointReadsOrWritesHasSourceGeneratedMetadata()
    {
        using var fixture = new ApiFixture();
        var endpoints = fixture.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints;

        var bodies = endpoints
            .SelectMany(endpoint => endpoint.Metadata.OfType<IAcceptsMetadata>().Select(accepts => accepts.RequestType)
                .Concat(endpoint.Metadata.OfType<IProducesResponseTypeMetadata>().Select(produces => produces.Type)))
            .OfType<Type>()
            .Where(type => type != typeof(void) && !typeof(ProblemDetails).IsAssignableFrom(type) && !ReflectionOnPurpose.Contains(type))
            .Distinct()
            .ToList();

        Assert.Contains(typeof(Api.Organizations.OrganizationResponse), bodies); // the scan sees typed results
        Assert.All(bodies, type => Assert.True(ApiJsonContext.Default.GetTypeInfo(type) is not null,
            $"{type.Name} is not in ApiJsonContext: it would be (de)serialized by reflection"));
    }
}
