using System.Security.Cryptography;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Storage;

namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// A secret every node of the cluster holds and no client sees: a hash of the CA material in the
/// replicated state (never served over any port). Session passwords are derived from it, so any
/// node can check a password another gave, and a follower proves with it that a write it forwards
/// to the leader comes from a node of the cluster. Null until the leader has created the CA.
/// </summary>
internal sealed class ZkSessionKey(RegistryStore store)
{
    private static readonly byte[] KeyLabel = "mesh zookeeper session passwords v1"u8.ToArray();
    private static readonly byte[] ProofLabel = "mesh zookeeper forwarded request v2"u8.ToArray();

    private (long Index, byte[]? Key) _key = (-1, null);

    public byte[]? Current()
    {
        var node = store.Read(s => s.GetNode(RegistryCertificateAuthority.MaterialPath));
        if (!node.IsOk)
            return null;
        var cached = _key;
        if (cached.Index == node.Stat.ModifiedIndex)
            return cached.Key;
        var key = SHA256.HashData([.. KeyLabel, .. node.Data.Span]);
        _key = (node.Stat.ModifiedIndex, key);
        return key;
    }

    /// <summary>The <see cref="ForwardProof"/> header for a forwarded request's body; null until the CA exists.</summary>
    public string? Prove(ReadOnlySpan<byte> body, long timeMs) =>
        ProofKey() is { } proofKey ? ForwardProof.Create(proofKey, body, timeMs) : null;

    /// <summary>Whether a forwarded request's header comes from a node of the cluster; its body is checked with <see cref="ForwardProof.Covers"/>.</summary>
    public bool IsFromNode(ForwardProof proof, long nowMs) => ProofKey() is { } proofKey && proof.IsSignedBy(proofKey, nowMs);

    private byte[]? ProofKey() => Current() is { } key ? SHA256.HashData([.. ProofLabel, .. key]) : null;
}
