using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;

namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// The proof a follower puts in the <c>Mesh-Zk-Proof</c> header of a request it forwards to the
/// leader: <c>{timeMs}.{sha256(body)}.{hmac}</c>, base64, where the HMAC covers the time and the
/// body's hash. The header alone says whether the sender holds the cluster's key, so the leader
/// refuses a stranger before it reads a byte of body, then checks the body against the hash.
/// The time bounds a captured header's use to <see cref="MaxSkew"/>.
/// </summary>
internal readonly record struct ForwardProof(long TimeMs, byte[] BodyHash, byte[] Mac)
{
    public static readonly TimeSpan MaxSkew = TimeSpan.FromSeconds(30);

    private const int HashBytes = 32;

    // Longest well-formed header: a long, two 44-character base64 fields and two dots.
    private const int MaxLength = 20 + 1 + 44 + 1 + 44;

    public static string Create(ReadOnlySpan<byte> proofKey, ReadOnlySpan<byte> body, long timeMs)
    {
        var hash = SHA256.HashData(body);
        return $"{timeMs.ToString(CultureInfo.InvariantCulture)}.{Convert.ToBase64String(hash)}.{Convert.ToBase64String(MacOf(proofKey, timeMs, hash))}";
    }

    /// <summary>False for anything but three well-formed fields; checks nothing else.</summary>
    public static bool TryParse(string? header, out ForwardProof proof)
    {
        proof = default;
        if (string.IsNullOrEmpty(header) || header.Length > MaxLength)
            return false;
        var parts = header.Split('.');
        if (parts.Length != 3
            || !long.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timeMs)
            || !TryDecode(parts[1], out var hash)
            || !TryDecode(parts[2], out var mac))
            return false;
        proof = new ForwardProof(timeMs, hash, mac);
        return true;
    }

    /// <summary>Whether the sender holds <paramref name="proofKey"/> and stamped the proof near <paramref name="nowMs"/>.</summary>
    public bool IsSignedBy(ReadOnlySpan<byte> proofKey, long nowMs) =>
        Math.Abs(nowMs - TimeMs) <= MaxSkew.TotalMilliseconds
        && CryptographicOperations.FixedTimeEquals(MacOf(proofKey, TimeMs, BodyHash), Mac);

    public bool Covers(ReadOnlySpan<byte> body) => CryptographicOperations.FixedTimeEquals(SHA256.HashData(body), BodyHash);

    private static byte[] MacOf(ReadOnlySpan<byte> proofKey, long timeMs, ReadOnlySpan<byte> hash)
    {
        Span<byte> signed = stackalloc byte[8 + HashBytes];
        BinaryPrimitives.WriteInt64BigEndian(signed, timeMs);
        hash.CopyTo(signed[8..]);
        return HMACSHA256.HashData(proofKey, signed);
    }

    private static bool TryDecode(string field, out byte[] bytes)
    {
        bytes = new byte[HashBytes];
        return Convert.TryFromBase64String(field, bytes, out var written) && written == HashBytes;
    }
}
