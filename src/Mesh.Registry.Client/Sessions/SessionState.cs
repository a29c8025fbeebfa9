namespace Mesh.Registry.Client;

/// <summary>Where a <see cref="RegistrySession"/> stands with the registry.</summary>
public enum SessionState
{
    /// <summary>Keep-alives are answered; ephemeral nodes of this session exist.</summary>
    Connected,

    /// <summary>Keep-alives fail to reach the registry; the session may still be alive there.</summary>
    Suspended,

    /// <summary>The registry says the session is gone; its ephemeral nodes were deleted. A new session follows.</summary>
    Expired,

    /// <summary>The session was closed by its owner.</summary>
    Closed,
}

/// <summary>A change of <see cref="RegistrySession.State"/>; <see cref="SessionId"/> is the id now in use.</summary>
public sealed record SessionStateChange(SessionState State, long SessionId, string Reason);
