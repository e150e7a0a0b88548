namespace Api.Tests;

/// <summary>Files of the repository itself (README, appsettings.json, deploy/), for tests that keep them honest.</summary>
internal static class RepositoryFiles
{
    /// <summary>The folder holding <c>Api.sln</c> and <c>README.md</c>, found above the test output.</summary>
    public static readonly string Root = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Api.sln")) && File.Exists(Path.Combine(directory.FullName, "README.md")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Api.sln, README.md) was not found above the test output.");
    }
}
