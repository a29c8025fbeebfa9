using System.CommandLine;
using System.Globalization;
using Mesh.Sidecar.Configuration;

namespace Mesh.Cli.Commands;

/// <summary>
/// A command-line flag that takes a duration in the syntax of sidecar.yaml (<c>500ms</c>,
/// <c>30s</c>, <c>5m</c>, <c>2h</c>), read by the same parser. The forms the flags took before
/// still parse, so scripts keep working: a bare number of seconds and <c>hh:mm:ss</c>.
/// </summary>
internal static class DurationOption
{
    public static Option<TimeSpan> Create(string name, string alias, string description, TimeSpan defaultValue, TimeSpan min, TimeSpan max)
    {
        var option = alias.Length > 0 ? new Option<TimeSpan>(name, alias) : new Option<TimeSpan>(name);
        option.Description = description;
        option.DefaultValueFactory = _ => defaultValue;
        option.CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (!TryParse(text, out var value))
                result.AddError($"{name}: '{text}' is not a duration such as {Durations.Examples}");
            else if (value < min || value > max)
                result.AddError($"{name}: {text} is out of range ({Format(min)} .. {Format(max)})");
            return value;
        };
        return option;
    }

    internal static bool TryParse(string text, out TimeSpan value)
    {
        if (Durations.TryParse(text, out value))
            return true;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and < 1e9)
        {
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }
        return text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
    }

    private static string Format(TimeSpan value) =>
        value < TimeSpan.FromSeconds(1) ? $"{value.TotalMilliseconds:0}ms"
        : value < TimeSpan.FromMinutes(1) ? $"{value.TotalSeconds:0.#}s"
        : value < TimeSpan.FromHours(1) ? $"{value.TotalMinutes:0.#}m"
        : $"{value.TotalHours:0.#}h";
}
