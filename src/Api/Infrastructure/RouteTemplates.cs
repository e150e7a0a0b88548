namespace Api.Infrastructure;

public static class RouteTemplates
{
    /// <summary>The matched route's template (<c>/organizations/{id}</c>), or <c>(unmatched)</c>: never the raw path.</summary>
    public static string RouteTemplateOf(this HttpContext http) =>
        (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)";
}
