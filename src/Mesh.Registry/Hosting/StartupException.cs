namespace Mesh.Registry.Hosting;

/// <summary>A node cannot start because of its input or environment; the message is one line for the user.</summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);
