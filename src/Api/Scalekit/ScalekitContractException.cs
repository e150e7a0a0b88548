namespace Api.Scalekit;

/// <summary>Scalekit answered 2xx with a body that lacks what its contract promises, or one too large to read.</summary>
public sealed class ScalekitContractException(string message) : Exception(message)
{
    /// <summary>The status of the refused answer, when it was refused while it was being received.</summary>
    public int? StatusCode { get; init; }
}
