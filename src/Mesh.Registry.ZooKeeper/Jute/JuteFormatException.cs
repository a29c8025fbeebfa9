namespace Mesh.Registry.ZooKeeper.Jute;

/// <summary>A frame that is not a well-formed jute record: truncated, a negative or oversize length, bad UTF-8. The connection that sent it is closed.</summary>
public sealed class JuteFormatException(string message) : FormatException(message);
