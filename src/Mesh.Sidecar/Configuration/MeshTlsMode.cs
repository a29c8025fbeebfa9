namespace Mesh.Sidecar.Configuration;

/// <summary>How a sidecar's inbound listener treats callers.</summary>
public enum MeshTlsMode
{
    /// <summary>Mutual TLS only: a client certificate chaining to the mesh root with a SPIFFE id.</summary>
    Strict,

    /// <summary>
    /// Mutual TLS or plaintext on the same port (chosen by the first byte of the connection), for
    /// migrating services into the mesh; plaintext requests are counted. A TLS caller that offers a
    /// certificate must still present a valid one.
    /// </summary>
    Permissive,
}
