// The `tls:` section of sidecar.yaml (docs/security.md, "mTLS and identity"): whether this sidecar speaks
// mutual TLS, and how it proves its service to the registry's CA to get its certificate.
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Configuration;

public enum TlsMode
{
    /// <summary>Plaintext hops, as before mTLS existed (the default, so old files keep working).</summary>
    Off,
    /// <summary>mTLS and plaintext on the inbound listener; outbound hops use mTLS.</summary>
    Permissive,
    /// <summary>mTLS only.</summary>
    Strict,
}

public sealed record TlsConfig
{
    /// <summary>The environment variable read when neither joinToken nor joinTokenFile is set.</summary>
    public const string JoinTokenVariable = "MESH_JOIN_TOKEN";

    public TlsMode Mode { get; init; } = TlsMode.Off;
    public string? JoinToken { get; init; }
    public string? JoinTokenFile { get; init; }
    /// <summary>Null: the registry CA's trust domain (from /v1/ca/root).</summary>
    public string? TrustDomain { get; init; }

    public bool Enabled => Mode != TlsMode.Off;

    /// <summary>The inbound listener mode for <see cref="Mode"/> (only meaningful when enabled).</summary>
    public MeshTlsMode ListenerMode => Mode == TlsMode.Permissive ? MeshTlsMode.Permissive : MeshTlsMode.Strict;

    /// <summary>
    /// The join token: tls.joinToken, else the contents of tls.joinTokenFile, else $MESH_JOIN_TOKEN.
    /// Throws <see cref="SidecarStartupException"/> when none is available.
    /// </summary>
    public string ResolveJoinToken()
    {
        if (!string.IsNullOrWhiteSpace(JoinToken))
            return JoinToken.Trim();
        if (JoinTokenFile is not null)
        {
            try
            {
                var text = File.ReadAllText(JoinTokenFile).Trim();
                if (text.Length > 0)
                    return text;
                throw new SidecarStartupException($"tls.joinTokenFile '{JoinTokenFile}' is empty");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SidecarStartupException($"cannot read tls.joinTokenFile '{JoinTokenFile}': {e.Message}", e);
            }
        }

        return Environment.GetEnvironmentVariable(JoinTokenVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment.Trim()
            : throw new SidecarStartupException($"tls.mode is {Mode.ToString().ToLowerInvariant()} but no join token is configured (tls.joinToken, tls.joinTokenFile or ${JoinTokenVariable})");
    }
}
