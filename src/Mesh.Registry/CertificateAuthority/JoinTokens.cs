// Join tokens: the secret a sidecar shows to get a certificate for its service. The registry
// keeps only a salted HMAC-SHA256 of each token with the scope it grants (a namespace, optionally
// one service), compares in constant time, and checks every stored token on each request so the
// timing does not tell which one (or whether any) came close.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Mesh.Registry.CertificateAuthority;

/// <summary>What a token allows: any service of <see cref="Namespace"/>, or only <see cref="Service"/> in it.</summary>
public sealed record JoinTokenScope(string Namespace, string? Service = null)
{
    public bool Allows(string @namespace, string service) =>
        string.Equals(Namespace, @namespace, StringComparison.Ordinal) &&
        (Service is null || string.Equals(Service, service, StringComparison.Ordinal));

    public override string ToString() => Service is null ? $"namespace '{Namespace}'" : $"service '{Namespace}/{Service}'";
}

/// <summary>One stored token: never the token itself, only its salt and HMAC.</summary>
public sealed record JoinTokenRecord(string Id, JoinTokenScope Scope, byte[] Salt, byte[] Hash)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CaJson.Default.JoinTokenRecord);

    public static JoinTokenRecord FromBytes(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize(bytes, CaJson.Default.JoinTokenRecord) ?? throw new FormatException("empty join token record");

    /// <summary>Whether <paramref name="token"/> is this record's token (constant time in the token's content).</summary>
    public bool Matches(string token) =>
        CryptographicOperations.FixedTimeEquals(JoinTokens.Mac(Salt, token), Hash);
}

public static class JoinTokens
{
    /// <summary>Shorter tokens are refused when stored: they could be guessed.</summary>
    public const int MinimumLength = 16;

    /// <summary>A new random token (256 bits, URL-safe base64).</summary>
    public static string Generate()
    {
        var bytes = RandomNumberGenerator.GetBytes(32);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The record to store for <paramref name="token"/>; <paramref name="id"/> names it for removal and logs.</summary>
    public static JoinTokenRecord Hash(string token, JoinTokenScope scope, string? id = null)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length < MinimumLength)
            throw new ArgumentException($"a join token must have at least {MinimumLength} characters", nameof(token));
        if (Mesh.Registry.Contracts.SpiffeId.ValidateSegment(scope.Namespace, "namespace") is { } nsError)
            throw new ArgumentException(nsError, nameof(scope));
        if (scope.Service is not null && Mesh.Registry.Contracts.SpiffeId.ValidateSegment(scope.Service, "service") is { } saError)
            throw new ArgumentException(saError, nameof(scope));
        var salt = RandomNumberGenerator.GetBytes(16);
        return new JoinTokenRecord(id ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), scope, salt, Mac(salt, token));
    }

    internal static byte[] Mac(byte[] salt, string token) => HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(token));
}

/// <summary>The outcome of checking a token against a request's namespace and service.</summary>
public readonly record struct JoinTokenCheck(bool Allowed, string Reason, string? TokenId);

/// <summary>
/// The stored tokens (token hash → scope). Immutable snapshots swapped whole, so the server can
/// rebuild it from the replicated tree on every change and check requests without locks.
/// </summary>
public sealed class JoinTokenRegistry
{
    private readonly JoinTokenRecord[] _records;
    private readonly JoinTokenRecord[] _revoked;

    /// <param name="records">Tokens that may join, with their scopes.</param>
    /// <param name="revoked">Tokens revoked for good: they match nothing, even if a record or a flag still holds them.</param>
    public JoinTokenRegistry(IEnumerable<JoinTokenRecord> records, IEnumerable<JoinTokenRecord>? revoked = null)
    {
        _records = [.. records];
        _revoked = [.. revoked ?? []];
    }

    /// <summary>Whether <paramref name="token"/> was revoked.</summary>
    public bool IsRevoked(string token)
    {
        var revoked = false;
        foreach (var record in _revoked)
            revoked |= record.Matches(token);
        return revoked;
    }

    public static JoinTokenRegistry Empty { get; } = new([]);

    public IReadOnlyList<JoinTokenRecord> Records => _records;

    public JoinTokenRegistry With(JoinTokenRecord record) => new(_records.Where(r => r.Id != record.Id).Append(record), _revoked);

    public JoinTokenRegistry Without(string id) => new(_records.Where(r => r.Id != id), _revoked);

    /// <summary>Whether <paramref name="token"/> may get a certificate for <paramref name="service"/> in <paramref name="namespace"/>.</summary>
    public JoinTokenCheck Check(string? token, string @namespace, string service)
    {
        if (string.IsNullOrEmpty(token))
            return new JoinTokenCheck(false, "no join token", null);
        if (IsRevoked(token))
            return new JoinTokenCheck(false, "the join token was revoked", null);

        // Every record is hashed and compared, matching or not: the time taken does not depend on
        // which record matches. Several records may hold the same token with different scopes.
        JoinTokenRecord? allowed = null, matched = null;
        foreach (var record in _records)
        {
            if (!record.Matches(token))
                continue;
            matched ??= record;
            if (allowed is null && record.Scope.Allows(@namespace, service))
                allowed = record;
        }

        if (allowed is not null)
            return new JoinTokenCheck(true, $"join token '{allowed.Id}' allows {allowed.Scope}", allowed.Id);
        return matched is null
            ? new JoinTokenCheck(false, "unknown join token", null)
            : new JoinTokenCheck(false, $"join token '{matched.Id}' allows {matched.Scope}, not service '{@namespace}/{service}'", matched.Id);
    }

    /// <summary>The scope of the first record holding <paramref name="token"/>, or null; every record is compared.</summary>
    public JoinTokenScope? ScopeOf(string token)
    {
        if (IsRevoked(token))
            return null;
        JoinTokenScope? scope = null;
        foreach (var record in _records)
        {
            if (record.Matches(token))
                scope ??= record.Scope;
        }
        return scope;
    }
}
