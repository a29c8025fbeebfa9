using Mesh.Registry.Core.Results;

namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// The leader's <see cref="ApplyResult"/> for a write a follower forwarded, as bytes: what a ZooKeeper
/// reply is built from (index, error, path, stat, session, per-op results), in the core's one
/// result codec behind a version byte. Events are not sent: the follower sees them when it applies
/// the entry itself.
/// </summary>
internal static class ZkResultCodec
{
    // 2: the stat carries pzxid. 3: the core's ApplyResultCodec, with a checksum.
    private const byte Version = 3;

    public static byte[] Encode(ApplyResult result) => [Version, .. ApplyResultCodec.Encode(result)];

    /// <summary>Throws <see cref="FormatException"/> for bytes this build did not write.</summary>
    public static ApplyResult Decode(byte[] bytes)
    {
        if (bytes.Length == 0 || bytes[0] != Version)
            throw new FormatException($"unknown forwarded result version (this node reads version {Version})");
        return ApplyResultCodec.Decode(bytes[1..]);
    }
}
