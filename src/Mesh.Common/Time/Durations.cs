using System.Globalization;
using System.Text.RegularExpressions;

namespace Mesh.Common.Time;

/// <summary>
/// Mesh's one duration syntax, read by this one parser everywhere a person writes a duration:
/// sidecar.yaml and routes, the registry API's query strings (<c>wait=30s</c>) and every
/// <c>mesh</c> flag. A number and a unit: <c>500ms</c>, <c>30s</c>, <c>1.5m</c>, <c>2h</c>,
/// <c>7d</c>. A bare number is refused (seconds or milliseconds? the reader cannot tell), and so
/// is .NET's <c>hh:mm:ss</c>; the error for those names the same value in this syntax. It lives in
/// the client library because the registry, the sidecar and the CLI all reference it.
/// </summary>
public static partial class Durations
{
    /// <summary>The syntax in words, for error messages.</summary>
    public const string Examples = "500ms, 30s, 5m or 2h";

    /// <summary>
    /// The longest duration a setting may have: a .NET timer cannot wait longer than about 49.7
    /// days (uint.MaxValue - 1 ms), and every configured duration ends up in one.
    /// </summary>
    public static readonly TimeSpan Longest = TimeSpan.FromDays(49);

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

    /// <summary>
    /// What is wrong with <paramref name="text"/>, for an error message that a caller prefixes with
    /// the field or flag: <c>'00:00:30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)</c>.
    /// </summary>
    public static string Problem(string? text) =>
        $"'{text}' is not a duration such as {Examples}{Hint(text)}";

    /// <summary>
    /// The exact spelling in the largest unit that keeps it short: a whole number of days, hours,
    /// minutes or seconds (<c>2h</c>, <c>90s</c>), else one decimal (<c>1.5s</c>), else milliseconds.
    /// </summary>
    public static string Format(TimeSpan value)
    {
        var milliseconds = value.TotalMilliseconds;
        foreach (var decimals in (ReadOnlySpan<double>)[1, 10])
        {
            foreach (var (unit, scale) in Units)
            {
                if (milliseconds >= scale && milliseconds * decimals % scale == 0)
                    return string.Create(CultureInfo.InvariantCulture, $"{milliseconds / scale}{unit}");
            }
        }
        return string.Create(CultureInfo.InvariantCulture, $"{milliseconds}ms");
    }

    private static readonly (string Unit, double Scale)[] Units = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)];

    /// <summary><c> (write 30s)</c> when <paramref name="text"/> is <c>hh:mm:ss</c> or a bare number of seconds, else empty.</summary>
    public static string Hint(string? text) => Suggestion(text) is { } suggestion ? $" (write {suggestion})" : "";

    // The forms people bring from elsewhere: hh:mm:ss (.NET) and a bare number of seconds.
    private static string? Suggestion(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        if (text.Contains(':', StringComparison.Ordinal)
            && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var clock) && clock >= TimeSpan.Zero)
            return Format(clock);
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds < 1e9)
            return Format(TimeSpan.FromSeconds(seconds));
        return null;
    }

    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")]
    private static partial Regex Pattern();
}
