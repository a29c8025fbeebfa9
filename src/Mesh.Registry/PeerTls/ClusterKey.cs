// The cluster's shared secret for the Raft peer port (--cluster-key-file): 32 or more random
// bytes, written to a file as one line of base64. Every credential of the peer transport is
// derived from it (PeerCredentials), so holding the key is what makes a process a member of the
// cluster; nothing else about a peer is trusted.
using System.Security.Cryptography;

namespace Mesh.Registry.PeerTls;

public sealed class ClusterKey
{
    /// <summary>The shortest key accepted: 256 bits, the strength of the P-256 credentials made from it.</summary>
    public const int MinimumBytes = 32;

    /// <summary>The flag that names the key file, in every error about it.</summary>
    public const string Flag = "--cluster-key-file";

    // A key file is one line of base64; a much larger file is not one (and is not read into memory).
    private const int MaximumFileBytes = 4096;

    private readonly byte[] _secret;

    private ClusterKey(byte[] secret) => _secret = secret;

    internal ReadOnlySpan<byte> Secret => _secret;

    /// <summary>A new key of <see cref="MinimumBytes"/> random bytes (<c>mesh registry keygen</c>).</summary>
    public static ClusterKey Generate() => new(RandomNumberGenerator.GetBytes(MinimumBytes));

    /// <summary>The key as a key file holds it.</summary>
    public string ToBase64() => Convert.ToBase64String(_secret);

    /// <summary>Reads a key file; a <see cref="FormatException"/> names the flag, the file and the problem, never the key.</summary>
    public static ClusterKey ReadFile(string path)
    {
        string text;
        try
        {
            var file = new FileInfo(path);
            if (!file.Exists)
                throw Problem(path, Directory.Exists(path) ? "is a directory, not a key file" : "no such file");
            if (file.Length > MaximumFileBytes)
                throw Problem(path, $"is {file.Length} bytes; a key file is one line of base64 ({NewKeyHint})");
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw Problem(path, $"cannot be read: {e.Message}");
        }
        try
        {
            return Parse(text);
        }
        catch (FormatException e)
        {
            throw Problem(path, e.Message);
        }
    }

    /// <summary>The key from its base64 text (surrounding white space ignored); a <see cref="FormatException"/> says what is wrong.</summary>
    public static ClusterKey Parse(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
            throw new FormatException($"the file is empty ({NewKeyHint})");
        var bytes = new byte[trimmed.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(trimmed, bytes, out var length))
            throw new FormatException($"the key is not base64 ({NewKeyHint})");
        if (length < MinimumBytes)
            throw new FormatException($"the key is {length} bytes; it needs at least {MinimumBytes} random bytes ({NewKeyHint})");
        var secret = bytes.AsSpan(0, length).ToArray();
        CryptographicOperations.ZeroMemory(bytes);
        if (secret.AsSpan().IndexOfAnyExcept(secret[0]) < 0)
            throw new FormatException($"the key is one byte repeated, not random bytes ({NewKeyHint})");
        return new ClusterKey(secret);
    }

    private const string NewKeyHint = "make one with `mesh registry keygen` or `openssl rand -base64 32`";

    private static FormatException Problem(string path, string problem) => new($"{Flag} '{path}': {problem}");

    /// <summary>Never the secret: options records print their properties.</summary>
    public override string ToString() => nameof(ClusterKey);
}
