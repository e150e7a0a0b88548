namespace Api.Scalekit;

/// <summary>Scalekit answered 2xx with a body that lacks what its contract promises.</summary>
public sealed class ScalekitContractException(string message) : Exception(message);
