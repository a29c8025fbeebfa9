using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>
/// Session passwords: 16 bytes derived from the session id with a key every node of the cluster
/// holds, so a session reconnects to any node with the password it was given, and nobody can
/// take over a session by guessing its (small, sequential) id.
/// </summary>
public static class ZkPasswords
{
    public const int Length = 16;

    public static byte[] For(ReadOnlySpan<byte> key, long sessionId)
    {
        Span<byte> id = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(id, sessionId);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, id, mac);
        return mac[..Length].ToArray();
    }

    public static bool Matches(ReadOnlySpan<byte> key, long sessionId, ReadOnlySpan<byte> password) =>
        password.Length == Length && CryptographicOperations.FixedTimeEquals(For(key, sessionId), password);
}
