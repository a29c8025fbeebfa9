using System.Globalization;
using System.Text.RegularExpressions;

namespace Mesh.Sidecar.Configuration;

/// <summary>
/// Mesh's one duration syntax, for sidecar.yaml, routes and every command-line flag: a number and
/// a unit, <c>250ms</c>, <c>5s</c>, <c>1.5m</c>, <c>2h</c>, <c>7d</c>. Public because the
/// <c>mesh</c> command's flags read durations the way the sidecar's files do.
/// </summary>
public static partial class Durations
{
    /// <summary>The syntax in words, for error messages.</summary>
    public const string Examples = "250ms, 5s, 2m or 1h";

    /// <summary>Parses a number and a unit (ms, s, m, h, d); false for anything else. Zero parses; callers judge the range.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        var match = text is null ? Match.Empty : Pattern().Match(text);
        if (!match.Success)
            return false;
        var number = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var milliseconds = match.Groups[2].Value switch
        {
            "ms" => number,
            "s" => number * 1_000,
            "m" => number * 60_000,
            "h" => number * 3_600_000,
            _ => number * 86_400_000,
        };
        // Past TimeSpan's range the text is nonsense, not a duration.
        if (milliseconds > TimeSpan.MaxValue.TotalMilliseconds / 2)
            return false;
        value = TimeSpan.FromMilliseconds(milliseconds);
        return true;
    }

    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")]
    private static partial Regex Pattern();
}
