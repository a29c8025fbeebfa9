// A join token as the operator configures it (`--join-token ns[/service]=TOKEN`, or one such line
// per entry in `--join-tokens-file`): the clear token and what it allows. Only its salted hash
// (JoinTokens.Hash) is ever stored or replicated.
namespace Mesh.Registry.CertificateAuthority;

public sealed record JoinTokenGrant(JoinTokenScope Scope, string Token)
{
    /// <summary>Parses <c>namespace[/service]=TOKEN</c>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static JoinTokenGrant Parse(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0 || equals == text.Length - 1)
            throw new FormatException("a join token is namespace[/service]=TOKEN");
        var scopeText = text[..equals].Trim();
        var token = text[(equals + 1)..].Trim();
        var slash = scopeText.IndexOf('/', StringComparison.Ordinal);
        var scope = slash < 0 ? new JoinTokenScope(scopeText) : new JoinTokenScope(scopeText[..slash], scopeText[(slash + 1)..]);
        if (Mesh.Registry.Contracts.SpiffeId.ValidateSegment(scope.Namespace, "namespace") is { } nsError)
            throw new FormatException($"join token for '{scopeText}': {nsError}");
        if (scope.Service is not null && Mesh.Registry.Contracts.SpiffeId.ValidateSegment(scope.Service, "service") is { } saError)
            throw new FormatException($"join token for '{scopeText}': {saError}");
        if (token.Length < JoinTokens.MinimumLength)
            throw new FormatException($"join token for '{scopeText}' has {token.Length} characters; at least {JoinTokens.MinimumLength} are needed");
        return new JoinTokenGrant(scope, token);
    }

    /// <summary>
    /// Reads a tokens file: one <c>namespace[/service]=TOKEN</c> per line; blank lines and lines
    /// starting with '#' are skipped. Errors name the file and line.
    /// </summary>
    public static IReadOnlyList<JoinTokenGrant> ParseFile(string path) => TokenFile.Parse(path, "join tokens", Parse);

    /// <summary>Never prints the token.</summary>
    public override string ToString() => $"join token for {Scope}";
}
