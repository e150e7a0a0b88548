using Microsoft.AspNetCore.HostFiltering;

namespace Api.Infrastructure;

public static class HostFiltering
{
    private static readonly object Allowed = new();

    /// <summary>
    /// <c>AllowedHosts</c> is checked inside the API's pipeline, where a refusal becomes Problem Details with the headers
    /// every answer carries. The host's own check ran before all of it and answered a <c>text/html</c> page, without
    /// <c>no-store</c> or <c>nosniff</c>.
    /// </summary>
    public static IServiceCollection AddApiHostFiltering(this IServiceCollection services)
    {
        const string hostsOwnCheck = "Microsoft.AspNetCore.HostFilteringStartupFilter";
        foreach (var filter in services.Where(d => d.ServiceType == typeof(IStartupFilter)
                     && d.ImplementationType?.FullName == hostsOwnCheck).ToList())
        {
            services.Remove(filter);
        }

        services.AddOptions<HostFilteringOptions>()
            .Validate(options => options.AllowedHosts.All(IsHostPattern), AllowedHostsFailure)
            .ValidateOnStart();
        return services.PostConfigure<HostFilteringOptions>(options => options.IncludeFailureMessage = false);
    }

    internal const string AllowedHostsFailure =
        "AllowedHosts must be host names separated by ';' without spaces (e.g. api.acme.com;*.acme.com), or * for any host.";

    // The host splits AllowedHosts on ';' and compares each part as written: "api.acme.com; localhost" refused every
    // request for localhost, and " " (or a value with a stray newline) refused every request, health probes included,
    // while the API started and looked healthy to itself.
    private static bool IsHostPattern(string entry) => entry.Length > 0 && !entry.Any(char.IsWhiteSpace);

    /// <summary>Refuses a host not in <c>AllowedHosts</c> with a bodiless 400, which the status code pages describe.</summary>
    public static IApplicationBuilder UseApiHostFiltering(this IApplicationBuilder app) =>
        app.UseHostFiltering().Use((context, next) =>
        {
            context.Items[Allowed] = Allowed;
            return next(context);
        });

    /// <summary>Whether the request stopped at the host check (it never got past <see cref="UseApiHostFiltering"/>).</summary>
    public static bool Refused(HttpContext context) => !context.Items.ContainsKey(Allowed);
}
