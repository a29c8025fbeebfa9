// Operator tokens for the client API (`--api-token ROLE=TOKEN`, `--api-tokens-file`). Unlike join
// tokens they are not replicated: every node is started with the same file, as etcd's static
// credentials are. Only a SHA-256 of each token is kept in memory.
using System.Security.Cryptography;
using System.Text;

namespace Mesh.Registry.Api.Access;

/// <summary>What an operator token may do: everything, or read only.</summary>
public enum ApiTokenRole
{
    Admin,
    Reader,
}

/// <summary>One operator token as configured: <c>admin=TOKEN</c> or <c>read=TOKEN</c>.</summary>
public sealed record ApiTokenGrant(ApiTokenRole Role, string Token)
{
    public const int MinimumLength = 16;

    /// <summary>Parses <c>admin=TOKEN</c> or <c>read=TOKEN</c>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static ApiTokenGrant Parse(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0 || equals == text.Length - 1)
            throw new FormatException("an API token is admin=TOKEN or read=TOKEN");
        var roleText = text[..equals].Trim();
        var token = text[(equals + 1)..].Trim();
        var role = roleText switch
        {
            "admin" => ApiTokenRole.Admin,
            "read" => ApiTokenRole.Reader,
            _ => throw new FormatException($"API token role '{roleText}' is unknown; use admin or read"),
        };
        if (token.Length < MinimumLength)
            throw new FormatException($"the {roleText} API token has {token.Length} characters; at least {MinimumLength} are needed");
        return new ApiTokenGrant(role, token);
    }

    /// <summary>One <c>ROLE=TOKEN</c> per line; blank lines and '#' comments skipped; errors name the file and line.</summary>
    public static IReadOnlyList<ApiTokenGrant> ParseFile(string path) => CertificateAuthority.TokenFile.Parse(path, "API tokens", Parse);
}

/// <summary>The operator tokens a node accepts, as hashes.</summary>
internal sealed class ApiTokens
{
    private readonly (ApiTokenRole Role, byte[] Hash)[] _tokens;

    public ApiTokens(IEnumerable<ApiTokenGrant> grants) =>
        _tokens = [.. grants.Select(g => (g.Role, Hash(g.Token)))];

    /// <summary>True when any operator token is configured: the API then requires authentication.</summary>
    public bool Any => _tokens.Length > 0;

    /// <summary>The role of <paramref name="token"/>, or null. Compares against every token in constant time.</summary>
    public ApiTokenRole? RoleOf(string token)
    {
        var hash = Hash(token);
        ApiTokenRole? found = null;
        foreach (var (role, expected) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected) && found is null)
                found = role;
        }
        return found;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
