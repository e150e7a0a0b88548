using System.Diagnostics;

namespace Api.Infrastructure;

/// <summary>
/// What a call to Scalekit carries of the request's context: its trace context (<c>traceparent</c>,
/// <c>tracestate</c>), so Scalekit's side of a request joins the caller's trace, but never its baggage. ASP.NET Core
/// reads a caller's <c>baggage</c> (and legacy <c>Correlation-Context</c>) header into the request's activity, and
/// .NET's default propagator writes it into every outgoing request: whatever the caller's side put there (user ids,
/// emails, session data) went to a third party.
/// </summary>
internal sealed class TraceContextOnly : DistributedContextPropagator
{
    public static DistributedContextPropagator Instance { get; } = new TraceContextOnly();

    private static readonly DistributedContextPropagator Default = CreateDefaultPropagator();

    private static readonly string[] TraceFields = ["traceparent", "tracestate", "Request-Id"];

    public override IReadOnlyCollection<string> Fields => TraceFields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (setter is not null)
        {
            Default.Inject(activity, carrier, (c, name, value) =>
            {
                if (TraceFields.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    setter(c, name, value);
                }
            });
        }
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState) =>
        Default.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) => null;
}
