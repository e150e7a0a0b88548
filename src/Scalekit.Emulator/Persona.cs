namespace Scalekit.Emulator;

/// <summary>A ready-made caller: a short name, what it stands for, and a signed access token.</summary>
public sealed record Persona(string Name, string Description, string Token);
