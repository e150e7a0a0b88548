namespace Api.Infrastructure;

public static class SettingsFiles
{
    /// <summary>
    /// Reads <c>appsettings*.json</c> (and user-secrets) once, at startup, where every setting is checked. The host
    /// watches them by default, and an edit while running reached only the parts that read settings as they serve (the
    /// management token's and the JWKS's timings, the token endpoint's credentials, log levels), unchecked: one out of
    /// range refused every valid token (401) until the next start, while the management API's address and the accepted
    /// issuers and audiences kept their startup values. A changed file now takes effect at the next start.
    /// </summary>
    public static ConfigurationManager ReadOnceAtStartup(this ConfigurationManager configuration)
    {
        IList<IConfigurationSource> sources = configuration.Sources;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is FileConfigurationSource { ReloadOnChange: true } file)
            {
                file.ReloadOnChange = false;
                // Setting a source again rebuilds the providers, this one without its file watcher.
                sources[i] = file;
            }
        }

        return configuration;
    }
}
