using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Api.Auth;
using Api.Idempotency;
using Api.Infrastructure;
using Api.Scalekit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Http.Resilience;

namespace Api.Tests.Infrastructure;

public sealed class ConfigurationTests
{
    private static ScalekitOptions Valid() => new()
    {
        EnvironmentUrl = "https://acme.scalekit.dev",
        ClientId = "skc_1",
        ClientSecret = "s",
        Audiences = ["skc_app"],
    };

    private static string Failures(ScalekitOptions options) =>
        new ScalekitOptionsValidator().Validate(null, options).FailureMessage ?? "";

    [Fact]
    public void ACompleteConfigurationIsValid() =>
        Assert.True(new ScalekitOptionsValidator().Validate(null, Valid()).Succeeded);

    [Theory]
    [InlineData("http://acme.scalekit.dev")]
    [InlineData("http://10.0.0.5:8080")]
    [InlineData("ftp://acme.scalekit.dev")]
    [InlineData("not a url")]
    [InlineData("https://acme.scalekit.dev?x=1")]
    [InlineData("https://user:pw@acme.scalekit.dev")]
    [InlineData("https://acme.scalekit.dev ")]
    [InlineData(" https://acme.scalekit.dev")]
    [InlineData("https://acme.scalekit.dev\n")]
    public void AnUnsafeEnvironmentUrlIsRejectedNamingTheKey(string url)
    {
        var options = Valid();
        options.EnvironmentUrl = url;
        Assert.Contains("Scalekit:EnvironmentUrl", Failures(options));
    }

    [Theory]
    [InlineData("http://localhost:5380")]
    [InlineData("http://127.0.0.1:5380")]
    [InlineData("http://[::1]:5380")]
    [InlineData("https://auth.acme.com")]
    public void LoopbackHttpAndAnyHttpsAreAccepted(string url) =>
        Assert.Null(ScalekitOptionsValidator.UrlRule(url));

    [Fact]
    public void APlainHttpIssuerOffLoopbackIsRejectedNamingTheKey()
    {
        var options = Valid();
        options.Issuers = ["https://auth.acme.com", "http://auth.acme.com"];
        Assert.Contains("Scalekit:Issuers:1", Failures(options));
    }

    [Fact]
    public void AnIssuerWithSurroundingWhitespaceIsRejectedNamingTheKey()
    {
        // Compared exactly with each token's iss, it would refuse every token.
        var options = Valid();
        options.Issuers = ["https://auth.acme.com\n"];
        Assert.Contains("Scalekit:Issuers:0", Failures(options));
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("00:05:01")]
    [InlineData("1.00:00:00")]
    public void AJwksRefreshCooldownOutOfRangeIsRejectedNamingTheKey(string cooldown)
    {
        // A day-long cooldown used to start, and one failed key fetch would then answer every request 503 for a day.
        var options = Valid();
        options.JwksRefreshCooldown = TimeSpan.Parse(cooldown, CultureInfo.InvariantCulture);
        Assert.Contains("Scalekit:JwksRefreshCooldown", Failures(options));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("1.00:00:01")]
    [InlineData("365.00:00:00")]
    public void AJwksAutomaticRefreshIntervalOutOfRangeIsRejectedNamingTheKey(string interval)
    {
        // A year-long interval used to start, and would keep trusting a key Scalekit had retired until a restart.
        var options = Valid();
        options.JwksAutomaticRefreshInterval = TimeSpan.Parse(interval, CultureInfo.InvariantCulture);
        Assert.Contains("Scalekit:JwksAutomaticRefreshInterval", Failures(options));
    }

    [Fact]
    public void TheLongestJwksTimingsAreAccepted()
    {
        var options = Valid();
        options.JwksRefreshCooldown = TimeSpan.FromMinutes(5);
        options.JwksAutomaticRefreshInterval = TimeSpan.FromDays(1);
        Assert.Equal("", Failures(options));
    }

    [Theory]
    [InlineData("ClientSecret", "test_credential-never-shown\n")]
    [InlineData("ClientSecret", "test_credential-never-shown\r\n")]
    [InlineData("ClientSecret", "test_credential-never-shown ")]
    [InlineData("ClientSecret", " test_credential-never-shown")]
    [InlineData("ClientId", "skc_credential-never-shown\n")]
    [InlineData("ClientId", "\tskc_credential-never-shown")]
    public void ACredentialWithSurroundingWhitespaceIsRejectedNamingTheKeyButNotTheValue(string setting, string value)
    {
        // Sent as is, Scalekit refuses the credentials: found only when readiness reports it.
        var options = Valid();
        if (setting == "ClientId")
        {
            options.ClientId = value;
        }
        else
        {
            options.ClientSecret = value;
        }

        var failures = Failures(options);

        Assert.Contains($"Scalekit:{setting} ", failures);
        Assert.Contains("with whitespace", failures);
        Assert.DoesNotContain("credential-never-shown", failures);
    }

    [Theory]
    [InlineData("skc_app\n", "ends with whitespace")]
    [InlineData(" skc_app", "begins with whitespace")]
    public async Task AnAudienceWithSurroundingWhitespaceStopsTheRealProcessNamingTheEntry(string audience, string problem)
    {
        // Compared exactly with each token's aud: the API started, looked ready, and refused every token (401 bad_audience).
        var (exitCode, output) = await RunApiAsync(Production(new() { ["Scalekit__Audiences__1"] = audience }));

        Assert.Equal(1, exitCode);
        Assert.StartsWith($"  - Scalekit:Audiences:1 {problem}", Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("Authorization__Policies__ReadOrganization__AnyOf__1__Grants__0", "organizations:read_all\n", "Authorization:Policies:ReadOrganization:AnyOf:1:Grants:0 ends with whitespace")]
    [InlineData("Authorization__Policies__UpdateOrganization__AnyOf__0__Roles__0", " org_owner", "Authorization:Policies:UpdateOrganization:AnyOf:0:Roles:0 begins with whitespace")]
    public async Task AGrantOrRoleWithSurroundingWhitespaceStopsTheRealProcessNamingTheEntry(string variable, string name, string failure)
    {
        // Compared exactly with the token's permissions, scopes and roles: no token met that alternative, silently.
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = name }));

        Assert.Equal(1, exitCode);
        Assert.StartsWith($"  - {failure}", Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("Authorization__Policies__ReadOrganization__AnyOf__1__SameOrganization", "tru")]
    [InlineData("Authorization__Policies__ReadOrganization__AnyOf__0__SameOrganization", "")]
    [InlineData("Authorization__Policies__ListOrganizations__AnyOf__0__SameOrganization", "yes")]
    public async Task ASameOrganizationThatIsNotABooleanStopsTheRealProcessNamingTheEntry(string variable, string value)
    {
        // The binder drops a list entry it cannot convert: the whole alternative vanished, silently (platform services
        // lost organizations:read_all), or a policy's only one did and the failure blamed an empty AnyOf.
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = value }));

        var key = variable.Replace("__", ":", StringComparison.Ordinal);
        Assert.Equal(1, exitCode);
        Assert.Equal($"  - {key} must be true or false.", Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)).TrimEnd('\r'));
    }

    [Fact]
    public void EmptyAudiencesAreRejectedNamingTheKey()
    {
        var options = Valid();
        options.Audiences = [];
        Assert.Contains("Scalekit:Audiences", Failures(options));
    }

    [Fact]
    public void TheIssuerDefaultsToTheEnvironmentUrl()
    {
        var options = Valid();
        options.EnvironmentUrl = "https://acme.scalekit.dev/";
        Assert.Equal(["https://acme.scalekit.dev"], options.EffectiveIssuers);
    }

    [Fact]
    public void ARuleThatReferencesNothingIsRejectedNamingTheKey()
    {
        var rules = new AccessRulesOptions();
        rules.Policies["ReadOrganization"] = new AccessRule { AnyOf = [new AccessAlternative { SameOrganization = true }] };
        rules.Policies["CreateOrganization"] = new AccessRule();

        var failure = new AccessRulesValidator(new ConfigurationBuilder().Build()).Validate(null, rules).FailureMessage;

        Assert.Contains("Authorization:Policies:ReadOrganization:AnyOf:0", failure);
        Assert.Contains("Authorization:Policies:CreateOrganization:AnyOf", failure);
    }

    [Fact]
    public async Task WithoutSettingsTheRealProcessExitsAtOnceNamingTheKeysWithoutAStackTrace()
    {
        var (exitCode, output) = await RunApiAsync(new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });

        Assert.Equal(1, exitCode);
        foreach (var key in new[] { "Scalekit:EnvironmentUrl", "Scalekit:ClientId", "Scalekit:ClientSecret", "Scalekit:Audiences" })
        {
            Assert.Contains(key, output);
        }

        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("Exception", output);
    }

    [Fact]
    public async Task AnEndpointWhosePolicyHasNoRuleStopsTheRealProcessNamingTheKey()
    {
        var (exitCode, output) = await RunApiAsync(Production(new()
        {
            ["Authorization__Policies__CreateOrganization__AnyOf__0__Grants__0"] = "organizations:create",
            // Renames the read policy's key away, as a typo in appsettings.json would.
            ["Authorization__Policies__ReadOrganizationTypo__AnyOf__0__Grants__0"] = "organizations:read_all",
        }), removeReadPolicy: true);

        Assert.Equal(1, exitCode);
        Assert.Contains("Authorization:Policies:ReadOrganization", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task ARuleForAPolicyNoEndpointHasStopsTheRealProcessNamingItAndThePolicyItProbablyMeant()
    {
        // Meant to narrow the shipped read rule to a grant of the operator's own, this added a rule nothing asked for:
        // the shipped one kept serving, silently.
        var (exitCode, output) = await RunApiAsync(Production(new()
        {
            ["Authorization__Policies__ReadOrganisation__AnyOf__0__Grants__0"] = "acme:orgs.read",
        }));

        Assert.Equal(1, exitCode);
        Assert.Equal(
            "  - Authorization:Policies:ReadOrganisation is not the policy of any endpoint: did you mean Authorization:Policies:ReadOrganization?",
            Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task MistakesInSeveralSectionsAreAllNamedWithoutAStackTrace()
    {
        var (exitCode, output) = await RunApiAsync(Production(new()
        {
            ["Scalekit__ClientSecret"] = null,
            ["RateLimiting__Reads__PermitLimit"] = "0",
        }));

        Assert.Equal(1, exitCode);
        Assert.Contains("Scalekit:ClientSecret", output);
        Assert.Contains("RateLimiting:Reads", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task AValueOfTheWrongTypeStopsTheRealProcessNamingTheKeyButNotTheValue()
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { ["Scalekit__TokenRefreshMargin"] = "not-a-timespan" }));

        Assert.Equal(1, exitCode);
        Assert.Contains("Scalekit:TokenRefreshMargin", output);
        Assert.DoesNotContain("not-a-timespan", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("Sometimes")]
    // The binder takes any number for an enum; 7 would have meant the default, silently.
    [InlineData("7")]
    public async Task AnHttp2ChoiceThatIsNoneOfTheThreeStopsTheRealProcess(string value)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { ["Scalekit__Http2"] = value }));

        Assert.Equal(1, exitCode);
        TheLineNaming(output, "Scalekit:Http2 must be one of Negotiate, Always, Off.");
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task AMalformedRedisConnectionStringStopsTheRealProcessNamingTheKeyButNotTheSecret()
    {
        var (exitCode, output) = await RunApiAsync(Production(new()
        {
            ["ConnectionStrings__Redis"] = "127.0.0.1:6399,password=redis-password-never-shown,ssl=maybe",
        }));

        Assert.Equal(1, exitCode);
        Assert.Contains("ConnectionStrings:Redis", output);
        Assert.DoesNotContain("redis-password-never-shown", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("Scalekit__Resilience__AttemptTimeout__Timeout", "00:00:00", "Scalekit:Resilience:AttemptTimeout:Timeout must be between")]
    [InlineData("Scalekit__Resilience__Retry__MaxRetryAttempts", "0", "Scalekit:Resilience:Retry:MaxRetryAttempts must be between")]
    [InlineData("Scalekit__Resilience__CircuitBreaker__SamplingDuration", "00:00:01", "Scalekit:Resilience: The sampling duration")]
    // The concurrency limiter's options were not checked: these started, then every Scalekit call was a 500.
    [InlineData("Scalekit__Resilience__RateLimiter__DefaultRateLimiterOptions__PermitLimit", "0", "Scalekit:Resilience:RateLimiter:DefaultRateLimiterOptions:PermitLimit must be at least 1")]
    [InlineData("Scalekit__Resilience__RateLimiter__DefaultRateLimiterOptions__QueueLimit", "-1", "Scalekit:Resilience:RateLimiter:DefaultRateLimiterOptions:QueueLimit must be 0")]
    public async Task AResilienceSettingOutOfRangeStopsTheRealProcessNamingTheKeyOnce(string key, string value, string failure)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { [key] = value }));

        Assert.Equal(1, exitCode);
        // Once, though both Scalekit clients (management API and token endpoint) bind the section; and not by the
        // name of a pipeline's options instance, which is no setting.
        TheLineNaming(output, failure);
        Assert.DoesNotContain("-standard", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task AScalekitTimeoutTooLongForTimeSpanArithmeticStopsTheRealProcessNamingItsKey()
    {
        // Added to the attempt timeout to bound Idempotency:InFlightTimeout, TimeSpan.MaxValue overflowed: exit 134 and a
        // stack trace instead of the resilience check's line.
        var (exitCode, output) = await RunApiAsync(Production(new() { ["Scalekit__Resilience__TotalRequestTimeout__Timeout"] = TimeSpan.MaxValue.ToString("c", CultureInfo.InvariantCulture) }));

        Assert.Equal(1, exitCode);
        Assert.Contains("Scalekit:Resilience:TotalRequestTimeout:Timeout must be between", output);
        Assert.DoesNotContain("Idempotency:InFlightTimeout", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task AnAttemptTimeoutFarBeyondItsRangeStopsTheRealProcessNamingItsKey()
    {
        // The resilience library's own cross-field check doubles it, and overflowed: exit 134 and a stack trace.
        var (exitCode, output) = await RunApiAsync(Production(new()
        {
            ["Scalekit__Resilience__AttemptTimeout__Timeout"] = "10000000.00:00:00",
            ["Idempotency__KeyLifetime"] = "30.00:00:00",
            ["Idempotency__InFlightTimeout"] = "30.00:00:00",
        }));

        Assert.Equal(1, exitCode);
        Assert.Contains("Scalekit:Resilience:AttemptTimeout:Timeout must be at most 1.00:00:00.", output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task AScalekitTimeoutThatOutlastsTheInFlightTimeoutStopsTheRealProcessNamingTheKeysAndTheBound()
    {
        // Raised from the shipped 15 s while Idempotency:InFlightTimeout stays at its 1 minute: a lookup (1 minute)
        // and then a create (5 s) could outlast the key's lease.
        var (exitCode, output) = await RunApiAsync(Production(new() { ["Scalekit__Resilience__TotalRequestTimeout__Timeout"] = "00:01:00" }));

        Assert.Equal(1, exitCode);
        var line = TheLineNaming(output, "Idempotency:InFlightTimeout");
        Assert.Contains("Scalekit:Resilience:TotalRequestTimeout:Timeout", line);
        Assert.Contains("Scalekit:Resilience:AttemptTimeout:Timeout", line);
        Assert.Contains("(00:01:05)", line);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task AClientSecretEndingInANewlineStopsTheRealProcessNamingTheKeyButNotTheValue()
    {
        // As mounted from a file (Kubernetes --from-file, Docker secrets) that ends with a newline.
        var (exitCode, output) = await RunApiAsync(Production(new() { ["Scalekit__ClientSecret"] = "test_secret-never-shown\n" }));

        Assert.Equal(1, exitCode);
        var line = TheLineNaming(output, "Scalekit:ClientSecret");
        Assert.Contains("ends with whitespace (a newline from a secret file?)", line);
        Assert.DoesNotContain("test_secret-never-shown", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("ASPNETCORE_URLS")]
    [InlineData("Kestrel__Endpoints__Http__Url")]
    public async Task AnAddressKestrelCannotParseStopsTheRealProcessWithExitCode1NamingTheSettings(string key)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { [key] = "not-an-address" }));

        Assert.Equal(1, exitCode);
        Assert.Contains("not-an-address", output);
        Assert.Contains("ASPNETCORE_URLS", output);
        Assert.Contains("Kestrel:Endpoints", output);
        Assert.DoesNotContain("Unhandled exception", output);
    }

    [Theory]
    [InlineData("Scalekit__Issuers", "Scalekit:Issuers")]
    [InlineData("Cors__AllowedOrigins", "Cors:AllowedOrigins")]
    [InlineData("Authorization__Policies__CreateOrganization__AnyOf__0__Grants", "Authorization:Policies:CreateOrganization:AnyOf:0:Grants")]
    [InlineData("Authorization__Policies__ReadOrganization__AnyOf__1__Roles", "Authorization:Policies:ReadOrganization:AnyOf:1:Roles")]
    [InlineData("Authorization__Policies__DeleteOrganization__AnyOf", "Authorization:Policies:DeleteOrganization:AnyOf")]
    public async Task AListGivenASingleValueStopsTheRealProcessNamingTheKey(string variable, string key)
    {
        // The binder ignores it: the API started with the default (the environment URL as issuer, no origin).
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = "https://auth.acme.com" }));

        Assert.Equal(1, exitCode);
        Assert.Contains($"{key} is a list", output);
        Assert.DoesNotContain("   at ", output);
    }

    // Each of these started with the setting the operator meant left as it was (its default, or its value from another
    // source), and said nothing: a rotated secret, the read budget, the organization cache, a policy's same-organization
    // check (a member of one organization could then read every other one).
    [Theory]
    [InlineData("Scalekit__ClientSecrt", "Scalekit:ClientSecrt is not a setting of this API: did you mean Scalekit:ClientSecret?")]
    [InlineData("Scalekit__Resilience__AttemptTimeout__Timout", "Scalekit:Resilience:AttemptTimeout:Timout is not a setting of this API: did you mean Scalekit:Resilience:AttemptTimeout:Timeout?")]
    [InlineData("RateLimiting__Reads__Limit", "RateLimiting:Reads:Limit is not a setting of this API: did you mean RateLimiting:Reads:PermitLimit?")]
    [InlineData("Caching__OrganisationTtl", "Caching:OrganisationTtl is not a setting of this API: did you mean Caching:OrganizationTtl?")]
    [InlineData("Idempotency__KeyLifetme", "Idempotency:KeyLifetme is not a setting of this API: did you mean Idempotency:KeyLifetime?")]
    [InlineData("Cors__AllowedOrigin__0", "Cors:AllowedOrigin is not a setting of this API: did you mean Cors:AllowedOrigins?")]
    [InlineData("Authorization__Policies__ReadOrganization__AnyOf__0__SameOrganisation", "Authorization:Policies:ReadOrganization:AnyOf:0:SameOrganisation is not a setting of this API: did you mean Authorization:Policies:ReadOrganization:AnyOf:0:SameOrganization?")]
    [InlineData("Caching__Ttl", "Caching:Ttl is not a setting of this API (it takes Caching:ValidatedTokenTtl, Caching:ValidatedTokenMaxEntries, Caching:OrganizationTtl; see README.md).")]
    [InlineData("RateLimiting__Writes", "RateLimiting:Writes is a section: set its keys (RateLimiting:Writes:PermitLimit, RateLimiting:Writes:Window), not a value.")]
    [InlineData("Idempotency__KeyLifetime__Seconds", "Idempotency:KeyLifetime:Seconds is not a setting of this API: Idempotency:KeyLifetime is a single value.")]
    public async Task AKeyTheApisOwnSectionsDoNotHaveStopsTheRealProcessNamingItAndTheKeyItProbablyMeant(string variable, string failure)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = "value-never-shown" }));

        Assert.Equal(1, exitCode);
        // One line, and only this mistake: everything else the process was given is known.
        Assert.Equal($"  - {failure}", Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        // The closing line said "Set these in appsettings.json, ...": set the key just named as not a setting.
        Assert.Equal(
            "Fix each one where it is set (appsettings.json, an environment variable Section__Key, or user-secrets): add or correct a setting, rename or remove a key this API does not have; see README.md.",
            output.Split('\n')[^1]);
        Assert.DoesNotContain("value-never-shown", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("RateLimiting__Reads__Window", "60", "RateLimiting:Reads:Window")]
    [InlineData("RateLimiting__Writes__Window", "01:00:01", "RateLimiting:Writes:Window")]
    [InlineData("RateLimiting__Writes__Window", "10000000.00:00:00", "RateLimiting:Writes:Window")]
    public async Task ARateLimitWindowLongerThanAnHourStopsTheRealProcessNamingTheKey(string variable, string window, string key)
    {
        // "60" is 60 days: the API started, and a caller who spent its budget was told to retry in 3600 s, and refused
        // again, for two months (the longest window refilled never).
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = window }));

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"  - {key} must be positive and at most 01:00:00 (the longest Retry-After this API sends), e.g. 00:01:00.",
            Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("deploy", "compose.yaml")]
    [InlineData("deploy", "kubernetes", "deployment.yaml")]
    [InlineData("bench", "bench.py")]
    public void TheSettingsTheRepositorySetsFromTheEnvironmentAreKnown(params string[] file)
    {
        // Each of these starts the API with settings of its own: a key renamed in the options, and not there, would
        // stop it at startup.
        var text = File.ReadAllText(RepositoryFiles.PathOf(file));
        var keys = Regex.Matches(text, @"\b(?:Scalekit|RateLimiting|Idempotency|Caching|Cors|Authorization)__[A-Za-z0-9_]*[A-Za-z0-9]")
            .Select(match => match.Value.Replace("__", ":", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(keys.Select(key => KeyValuePair.Create(key, (string?)"x"))).Build();

        Assert.NotEmpty(keys);
        Assert.Empty(OwnSections.SelectMany(section => KnownSettings.Failures(configuration.GetSection(section.Name), section.Type, section.Parts)));
    }

    // The sections this API binds, as each registers its check.
    private static readonly (string Name, Type Type, Dictionary<string, Type>? Parts)[] OwnSections =
    [
        (ScalekitOptions.SectionName, typeof(ScalekitOptions), new(StringComparer.OrdinalIgnoreCase) { ["Resilience"] = typeof(HttpStandardResilienceOptions) }),
        (RateLimitingOptions.SectionName, typeof(RateLimitingOptions), null),
        (IdempotencyOptions.SectionName, typeof(IdempotencyOptions), null),
        (CachingOptions.SectionName, typeof(CachingOptions), null),
        (CrossOriginOptions.SectionName, typeof(CrossOriginOptions), null),
        (AccessRulesOptions.SectionName, typeof(AccessRulesOptions), null),
    ];

    [Theory]
    [InlineData("Authorisation__Policies__ReadOrganization__AnyOf__0__Grants__0", "Authorisation is not a section of this API: did you mean Authorization?")]
    [InlineData("Scalekt__TokenFetchCooldown", "Scalekt is not a section of this API: did you mean Scalekit?")]
    [InlineData("RateLimitng__Reads__PermitLimit", "RateLimitng is not a section of this API: did you mean RateLimiting?")]
    public async Task AMisspelledSectionOfTheApisStopsTheRealProcessNamingTheSectionItProbablyMeant(string variable, string failure)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = "value-never-shown" }));

        Assert.Equal(1, exitCode);
        Assert.Equal($"  - {failure}", Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("value-never-shown", output);
    }

    [Fact]
    public async Task TheApisOwnKeysInAnyCaseAndOtherProgramsSettingsAreAccepted()
    {
        // Configuration keys are case-insensitive: these are the settings themselves, and the API takes them. The
        // environment is shared: a section of another program's (Core) and the variables of Scalekit's own SDKs are
        // not this API's to refuse.
        using var scalekit = new ScalekitFake();
        await using var api = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string>
        {
            ["caching__organizationttl"] = "00:00:10",
            ["RATELIMITING__READS__PERMITLIMIT"] = "500",
            ["scalekit__Resilience__attempttimeout__TIMEOUT"] = "00:00:03",
            ["Authorization__policies__ReadOrganization__anyof__0__sameorganization"] = "true",
            ["Core__Feature"] = "on",
            // Platforms fill ConnectionStrings with names of their own (App Service, Aspire): only near misses of Redis are refused.
            ["ConnectionStrings__DefaultConnection"] = "Server=db;Database=app",
            ["ConnectionStrings__cache"] = "cache:6379",
            // Serilog's own forms: a plain level for Default, a level in any case, an empty override taking back a shipped one.
            ["Serilog__MinimumLevel"] = "Information",
            ["serilog__minimumlevel__override__Microsoft.AspNetCore"] = "warning",
            ["Serilog__MinimumLevel__Override__Polly"] = "",
            ["SCALEKIT_ENVIRONMENT_URL"] = "https://acme.scalekit.dev",
        });

        await api.WaitUntilListeningAsync();
        Assert.DoesNotContain("is not a", api.Output);
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "otel-collector:4317-with-no-scheme")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]
    public async Task AnOtlpSettingTheExporterWouldIgnoreStopsTheRealProcessNamingIt(string key, string value)
    {
        var (exitCode, output) = await RunApiAsync(Production(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317",
            [key] = value,
        }));

        Assert.Equal(1, exitCode);
        Assert.Contains(key, output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_HEADERS", "Authorization Bearer otlp-secret-never-shown")]
    [InlineData("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,Authorization: Bearer otlp-secret-never-shown")]
    [InlineData("OTEL_EXPORTER_OTLP_HEADERS", "=otlp-secret-never-shown")]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key:otlp-secret-never-shown")]
    [InlineData("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "api-key otlp-secret-never-shown")]
    public async Task MalformedOtlpHeadersStopTheRealProcessNamingTheKeyButNotTheSecret(string key, string value)
    {
        // The exporter threw "Headers provided in an invalid format." from inside the host's build: a 30-line stack trace
        // that named no setting.
        var (exitCode, output) = await RunApiAsync(Production(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317",
            [key] = value,
        }));

        Assert.Equal(1, exitCode);
        Assert.Contains($"{key} must be", output);
        Assert.DoesNotContain("otlp-secret-never-shown", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("password=redis-password-never-shown")]
    [InlineData(",,,")]
    public async Task ARedisConnectionStringWithoutAServerStopsTheRealProcessNamingTheKeyButNotTheSecret(string connectionString)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { ["ConnectionStrings__Redis"] = connectionString }));

        Assert.Equal(1, exitCode);
        Assert.Contains("ConnectionStrings:Redis", output);
        Assert.DoesNotContain("redis-password-never-shown", output);
        Assert.DoesNotContain("   at ", output);
    }

    // Each of these started the API on in-memory state, silently: with several replicas, idempotency keys and caches
    // were each replica's own (a retried create landing elsewhere created a second organization).
    [Theory]
    [InlineData("ConnectionStrings__Rdis", "ConnectionStrings:Rdis is not a connection string this API reads: did you mean ConnectionStrings:Redis (env ConnectionStrings__Redis)?")]
    [InlineData("ConnectionStrings__Reddis", "ConnectionStrings:Reddis is not a connection string this API reads: did you mean ConnectionStrings:Redis (env ConnectionStrings__Redis)?")]
    [InlineData("ConnectionString__Redis", "ConnectionString is not a section of this API: did you mean ConnectionStrings?")]
    [InlineData("ConnectionStrings__Redis__Host", "ConnectionStrings:Redis:Host is not a setting of this API: ConnectionStrings:Redis is a single value, a StackExchange.Redis connection string such as redis:6379,password=...,ssl=true.")]
    public async Task AMisspelledRedisConnectionStringStopsTheRealProcessNamingTheKeyItProbablyMeantButNotTheSecret(string variable, string failure)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = "redis:6379,password=redis-password-never-shown" }));

        Assert.Equal(1, exitCode);
        Assert.Equal($"  - {failure}", Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("redis-password-never-shown", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task AKestrelLimitOutOfRangeStopsTheRealProcessNamingTheKeyWithoutAStackTrace()
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { ["Kestrel__Limits__MaxConcurrentConnections"] = "0" }));

        Assert.Equal(1, exitCode);
        Assert.Contains("Kestrel:Limits:MaxConcurrentConnections cannot be used", TheLineNaming(output, "Kestrel:Limits"));
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("Kestrel__Limits__MaxConcurentConnections", "Kestrel:Limits:MaxConcurentConnections is not one of Kestrel's limits: did you mean Kestrel:Limits:MaxConcurrentConnections?")]
    [InlineData("Kestrel__Limits__Http2__MaxStreams", "Kestrel:Limits:Http2:MaxStreams is not one of Kestrel's limits: did you mean Kestrel:Limits:Http2:MaxStreamsPerConnection?")]
    public async Task AMisspelledKestrelLimitStopsTheRealProcessNamingTheLimitItProbablyMeant(string variable, string failure)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = "100" }));

        Assert.Equal(1, exitCode);
        Assert.Equal($"  - {failure}", Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("Kestrel__EndpointDefaults__Protocols", "Kestrel:EndpointDefaults:Protocols")]
    [InlineData("Kestrel__Endpoints__Http__Protocols", "Kestrel:Endpoints:Http:Protocols")]
    public async Task AnHttpProtocolKestrelCannotReadStopsTheRealProcessNamingTheKey(string variable, string key)
    {
        // Kestrel ignored it, silently: the endpoints spoke their default protocols instead (no h2c, for one).
        var (exitCode, output) = await RunApiAsync(Production(new()
        {
            ["Kestrel__Endpoints__Http__Url"] = "http://127.0.0.1:0",
            [variable] = "Http2Only",
        }));

        Assert.Equal(1, exitCode);
        Assert.Contains($"{key} must be one of Http1, Http2, Http1AndHttp2", TheLineNaming(output, key));
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("5000000")]
    [InlineData("thirty")]
    [InlineData("-5")]
    public async Task AShutdownTimeoutTheHostCannotUseStopsTheRealProcessNamingTheVariable(string seconds)
    {
        // The host took 5000000 (58 days) and then crashed on SIGTERM with a stack trace (exit 134) instead of draining;
        // it ignored the others, draining for its default 30 s whatever the deployment's grace period was sized for.
        var (exitCode, output) = await RunApiAsync(Production(new() { ["DOTNET_shutdownTimeoutSeconds"] = seconds }));

        Assert.Equal(1, exitCode);
        Assert.Contains("DOTNET_shutdownTimeoutSeconds must be a whole number of seconds from 0 to 86400", TheLineNaming(output, "shutdownTimeoutSeconds"));
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("api.acme.com; localhost")]
    [InlineData("api.acme.com\n")]
    public async Task AllowedHostsWithSpacesStopTheRealProcessNamingTheKey(string hosts)
    {
        // The host compares each ';'-separated part as written: these started and looked healthy to themselves, then
        // refused every request (or every request for localhost) with 400, Kubernetes' probes included.
        var (exitCode, output) = await RunApiAsync(Production(new() { ["AllowedHosts"] = hosts }));

        Assert.Equal(1, exitCode);
        Assert.Contains(HostFiltering.AllowedHostsFailure, TheLineNaming(output, "AllowedHosts"));
        Assert.DoesNotContain("   at ", output);
    }

    // Serilog threw on these; the report said "check Serilog:MinimumLevel and its overrides", not which one.
    [Theory]
    [InlineData("Serilog__MinimumLevel__Override__Polly", "Loud", "Serilog:MinimumLevel:Override:Polly must be a log level: Verbose, Debug, Information, Warning, Error or Fatal.")]
    [InlineData("Serilog__MinimumLevel__Default", "Debugg", "Serilog:MinimumLevel:Default must be a log level: Verbose, Debug, Information, Warning, Error or Fatal.")]
    [InlineData("Serilog__MinimumLevel", "Debugg", "Serilog:MinimumLevel must be a log level: Verbose, Debug, Information, Warning, Error or Fatal.")]
    // Each of these Serilog ignored, silently: the level meant kept its shipped value (or, for 6, every event was dropped).
    [InlineData("Serilog__MinimumLevel__Default", "6", "Serilog:MinimumLevel:Default must be a log level: Verbose, Debug, Information, Warning, Error or Fatal.")]
    [InlineData("Serilog__MinimumLevel__Defualt", "Debug", "Serilog:MinimumLevel:Defualt is not one of Serilog's settings: did you mean Serilog:MinimumLevel:Default?")]
    [InlineData("Serilog__MinimumLevel__Overide__Microsoft", "Debug", "Serilog:MinimumLevel:Overide is not one of Serilog's settings: did you mean Serilog:MinimumLevel:Override?")]
    [InlineData("Serilog__MinimumLevel__Override__Microsoft__AspNetCore", "Debug", "Serilog:MinimumLevel:Override:Microsoft:AspNetCore is not a category: write it with dots, Serilog:MinimumLevel:Override:Microsoft.AspNetCore (env Serilog__MinimumLevel__Override__Microsoft.AspNetCore).")]
    [InlineData("Serilog__MinimumLevl__Default", "Debug", "Serilog:MinimumLevl is not one of Serilog's settings: did you mean Serilog:MinimumLevel?")]
    [InlineData("Serilg__MinimumLevel__Default", "Debug", "Serilg is not a section of this API: did you mean Serilog?")]
    public async Task ALogLevelSerilogCannotReadOrWouldIgnoreStopsTheRealProcessNamingTheKeyWithoutAStackTrace(string variable, string value, string failure)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = value }));

        Assert.Equal(1, exitCode);
        Assert.Equal($"  - {failure}", Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", output);
    }

    // Serilog read these, with the console sink's assembly at hand: every event was written twice, once unescaped.
    [Theory]
    [InlineData("Serilog__WriteTo__0__Name", "Serilog:WriteTo")]
    [InlineData("Serilog__AuditTo__0__Name", "Serilog:AuditTo")]
    public async Task ASinkInTheSerilogSectionStopsTheRealProcessNamingTheKey(string variable, string key)
    {
        var (exitCode, output) = await RunApiAsync(Production(new() { [variable] = "Console" }));

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"  - {key} is not a setting of this API: it writes every log event to standard output itself (compact JSON outside Development), for your platform to collect.",
            Assert.Single(output.Split('\n'), line => line.StartsWith("  - ", StringComparison.Ordinal)));
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task AnAppSettingsFileEditedWhileTheProcessRunsChangesNothingUntilItsNextStart()
    {
        // The host watched appsettings.json and reloaded it unchecked into the settings read while serving: a JWKS
        // refresh interval out of range, written while running, answered every valid token 401 until a restart.
        using var scalekit = new ScalekitFake();
        scalekit.AddOrganization(Tokens.OrgA, "Steady Co");
        var workDir = Directory.CreateTempSubdirectory("api-reload-test");
        try
        {
            var settingsFile = Path.Combine(workDir.FullName, "appsettings.json");
            var settings = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "appsettings.json"));
            await File.WriteAllTextAsync(settingsFile, settings);
            // Enough read budget for the requests below.
            await using var api = ApiProcess.StartAgainst(scalekit, new Dictionary<string, string> { ["RateLimiting__Reads__PermitLimit"] = "100000" }, workDir.FullName);
            using var http = await api.ClientAsync(new Tokens(scalekit).User(Tokens.OrgA, ["organizations:read"]));
            using (var before = await http.GetAsync($"/organizations/{Tokens.OrgA}"))
            {
                Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            }

            var edited = settings.Replace("\"JwksAutomaticRefreshInterval\": \"01:00:00\"", "\"JwksAutomaticRefreshInterval\": \"365.00:00:00\"", StringComparison.Ordinal);
            Assert.NotEqual(settings, edited);
            await File.WriteAllTextAsync(settingsFile, edited);

            // Not a wait for something to happen but the observation itself: a watched file is reloaded within a few
            // hundred milliseconds of the edit, and for seconds after it every request is still served as before.
            var since = Stopwatch.StartNew();
            while (since.Elapsed < TimeSpan.FromSeconds(3))
            {
                using var after = await http.GetAsync($"/organizations/{Tokens.OrgA}");
                Assert.True(after.StatusCode == HttpStatusCode.OK, $"{since.Elapsed} after the edit: {(int)after.StatusCode} {await after.Content.ReadAsStringAsync()}");
                await Task.Delay(TimeSpan.FromMilliseconds(20));
            }

            Assert.DoesNotContain("\"@l\":\"Error\"", api.Output);
        }
        finally
        {
            workDir.Delete(recursive: true);
        }
    }

    /// <summary>The real process in Production with a complete Scalekit section, changed by <paramref name="changes"/> (null removes a key).</summary>
    private static Dictionary<string, string> Production(Dictionary<string, string?> changes)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["Scalekit__EnvironmentUrl"] = "https://acme.scalekit.dev",
            ["Scalekit__ClientId"] = "skc_1",
            ["Scalekit__ClientSecret"] = "s",
            ["Scalekit__Audiences__0"] = "skc_app",
        };
        foreach (var (key, value) in changes)
        {
            environment[key] = value;
        }

        return environment.Where(pair => pair.Value is not null).ToDictionary(pair => pair.Key, pair => pair.Value!);
    }

    // The one line of the process's output that names what failed.
    private static string TheLineNaming(string output, string text) =>
        Assert.Single(output.Split('\n'), line => line.Contains(text, StringComparison.Ordinal));

    private static async Task<(int ExitCode, string Output)> RunApiAsync(Dictionary<string, string> environment, bool removeReadPolicy = false)
    {
        var workDir = Directory.CreateTempSubdirectory("api-config-test");
        try
        {
            var settings = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "appsettings.json"));
            if (removeReadPolicy)
            {
                settings = settings.Replace("\"ReadOrganization\"", "\"ReadOrganizationTypo\"", StringComparison.Ordinal);
            }

            await File.WriteAllTextAsync(Path.Combine(workDir.FullName, "appsettings.json"), settings);
            await using var api = ApiProcess.Start(environment, workDir.FullName);
            var exitCode = await api.WaitForExitAsync(TimeSpan.FromSeconds(60));
            return (exitCode, api.Output);
        }
        finally
        {
            // The process has exited (or been killed by the disposal above): nothing holds the folder any more.
            workDir.Delete(recursive: true);
        }
    }

    [Fact]
    public void NegativeCacheLifetimesAndAnEmptyTokenCacheAreRejectedNamingTheKeys()
    {
        var options = new CachingOptions
        {
            ValidatedTokenTtl = TimeSpan.FromSeconds(-1),
            ValidatedTokenMaxEntries = 0,
            OrganizationTtl = TimeSpan.FromSeconds(-1),
        };

        var failure = new CachingOptionsValidator().Validate(null, options).FailureMessage;

        Assert.Contains("Caching:ValidatedTokenTtl", failure);
        Assert.Contains("Caching:ValidatedTokenMaxEntries", failure);
        Assert.Contains("Caching:OrganizationTtl", failure);
        Assert.True(new CachingOptionsValidator().Validate(null, new CachingOptions()).Succeeded);
    }

    [Fact]
    public void CacheLifetimesBeyondADayAreRejectedNamingTheKeys()
    {
        // "now + TTL" past DateTimeOffset.MaxValue refused every token and failed every cached read with a 500.
        var options = new CachingOptions
        {
            ValidatedTokenTtl = TimeSpan.FromDays(10_000_000),
            OrganizationTtl = TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1),
        };

        var failure = new CachingOptionsValidator().Validate(null, options).FailureMessage;

        Assert.Contains("Caching:ValidatedTokenTtl", failure);
        Assert.Contains("Caching:OrganizationTtl", failure);
        Assert.True(new CachingOptionsValidator().Validate(null, new CachingOptions
        {
            ValidatedTokenTtl = TimeSpan.FromDays(1),
            OrganizationTtl = TimeSpan.FromDays(1),
        }).Succeeded);
    }
}
