namespace Mesh.Sidecar.Core;

/// <summary>A sidecar cannot start (e.g. the registry refused its join token); the message says why, in one line.</summary>
public sealed class SidecarStartupException(string message, Exception? inner = null) : Exception(message, inner);
