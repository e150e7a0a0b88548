using Microsoft.Extensions.Options;

namespace Api.Infrastructure;

public static class ListSettings
{
    /// <summary>
    /// Fails startup when one of <paramref name="keys"/>, a list, is given a single value (<c>Scalekit__Issuers=...</c>
    /// instead of <c>Scalekit__Issuers__0=...</c>): the binder ignores such a value, silently, and the list kept its
    /// default (no custom issuer, no allowed origin).
    /// </summary>
    public static OptionsBuilder<T> ValidateListsAreIndexed<T>(this OptionsBuilder<T> builder, params string[] keys)
        where T : class
    {
        foreach (var key in keys)
        {
            builder.Validate<IConfiguration>((_, configuration) => string.IsNullOrEmpty(configuration[key]), NotIndexed(key));
        }

        return builder;
    }

    /// <summary>The startup failure for <paramref name="key"/>, a list, given a single value; null when it was not.</summary>
    public static string? SingleValueFailure(IConfiguration configuration, string key) =>
        string.IsNullOrEmpty(configuration[key]) ? null : NotIndexed(key);

    private static string NotIndexed(string key)
    {
        var env = key.Replace(":", "__", StringComparison.Ordinal);
        return $"{key} is a list: set its entries one by one ({key}:0, {key}:1, ...; env {env}__0, {env}__1, ...), not {key} itself.";
    }
}
