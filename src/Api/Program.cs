using Api.Auth;
using Api.Idempotency;
using Api.Infrastructure;
using Api.LocalDevelopment;
using Api.Organizations;
using Api.Scalekit;
using Api.SharedState;

// The slim builder leaves out what this API never uses (IIS, HTTP/3, hosting startup assemblies), so none of it is
// loaded; HTTPS endpoints configured under Kestrel:* still work.
var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseKestrelHttpsConfiguration();
builder.Configuration.ReadOnceAtStartup();  // checked at startup: an edited appsettings.json applies at the next start

builder.AddObservability();                 // Serilog from configuration; never logs tokens
builder.AddScalekit();                      // options, management token, typed client with one resilience pipeline
builder.AddLocalScalekitEmulator();         // Development without Scalekit:EnvironmentUrl: an offline emulator
builder.Services.AddSharedState();          // ConnectionStrings:Redis shares state across replicas; else in memory
builder.Services.AddApiCaching();           // validated tokens and organization reads, short-lived and bounded (Caching:*)
builder.Services.AddApiAuthentication();    // Scalekit access tokens checked against the environment's JWKS
builder.Services.AddApiAuthorization();     // one configured rule per policy; anything unlabelled is denied
builder.Services.AddApiRateLimiting();      // per-caller budgets for reads and writes; 429 with Retry-After
builder.Services.AddApiCors();              // browser origins that may call (Cors:AllowedOrigins); loopback in Development
builder.Services.AddIdempotency();          // Idempotency-Key on creates: replays, never a second organization
builder.Services.AddShutdownDeadline();     // creates and metadata changes outlive their caller, not the host's shutdown timeout
builder.Services.AddApiProblemDetails();    // every error is application/problem+json
builder.Services.AddServerLimits();         // Kestrel:Limits:* from configuration, checked at startup
builder.Services.AddApiResponseHeaders();   // no Server header naming the web server
builder.Services.AddApiHostFiltering();     // AllowedHosts is checked in the pipeline below, not before it
builder.Services.AddRequestBodyRules();     // a body's media type is judged by the rules below, not by routing
builder.Services.AddLiteralRoutes();        // /organizations/current is never an {id}: its 405 names its own methods
builder.Services.AddApiJson();              // source-generated JSON for this API's bodies
builder.Services.AddOrganizationValidators(); // the request validators, named one by one
builder.Services.AddApiHealthChecks();
builder.Services.AddApiOpenApi();           // /openapi/v1.json inferred from the endpoints

var app = builder.Build();

app.UseApiRequestLogging();                 // outermost, so it sees the final status of every request
app.UseApiResponseHeaders();                // no-store and nosniff on every answer
app.UseExceptionHandler();
app.UseApiStatusCodePages();                // bodiless errors (404, 405) become Problem Details that say why
app.UseApiHostFiltering();                  // a Host not in AllowedHosts: 400, described by the status code pages
app.UseApiCors();                           // before authentication: preflights carry no token; errors keep their CORS headers
app.UseExactMethods();                      // method names are case-sensitive: "patch" is not PATCH (405, readable by an allowed page)
app.UseRequestBodyRules(64 * 1024);         // 413 over 64 KiB; 415 for a compressed body, another type or charset
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();                       // after authorization: budgets belong to authenticated callers

app.MapApiHealthChecks();
app.MapApiOpenApi();
app.MapOrganizations();

return await StartupChecks.RunAsync(app);   // configuration errors name the key to fix

public partial class Program;
