// One problem found in a configuration source, with where it is: `file:line: path: message`.
namespace Mesh.Sidecar.Configuration;

public sealed record ConfigError(string File, int Line, string Path, string Message)
{
    public override string ToString() => Path.Length == 0
        ? $"{File}:{Line}: {Message}"
        : $"{File}:{Line}: {Path}: {Message}";
}

/// <summary>Thrown when a configuration has problems; lists every one of them.</summary>
public sealed class SidecarConfigException(IReadOnlyList<ConfigError> errors)
    : Exception(Format([.. errors.OrderBy(e => e.Line)]))
{
    /// <summary>Every problem, in file order.</summary>
    public IReadOnlyList<ConfigError> Errors { get; } = [.. errors.OrderBy(e => e.Line)];

    private static string Format(IReadOnlyList<ConfigError> errors) =>
        $"{errors.Count} configuration error(s):{Environment.NewLine}" +
        string.Join(Environment.NewLine, errors.Select(e => "  " + e));
}
