namespace Mesh.Registry.Core.Commands;

/// <summary>Bytes that are not a command this version can read: truncated, corrupted or from a newer format.</summary>
public sealed class CommandFormatException(string message) : FormatException(message);
