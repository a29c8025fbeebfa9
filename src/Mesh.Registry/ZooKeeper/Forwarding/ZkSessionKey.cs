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
    private static readonly byte[] ProofLabel = "mesh zookeeper forwarded write v1"u8.ToArray();

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

    /// <summary>The proof a forwarded request carries: an HMAC of its body under a key derived from <see cref="Current"/>.</summary>
    public string? Prove(ReadOnlySpan<byte> body) =>
        Current() is { } key ? Convert.ToBase64String(HMACSHA256.HashData(SHA256.HashData([.. ProofLabel, .. key]), body)) : null;

    public bool Verify(ReadOnlySpan<byte> body, string? proof)
    {
        if (proof is null || Prove(body) is not { } expected)
            return false;
        return CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(expected), System.Text.Encoding.ASCII.GetBytes(proof));
    }
}
