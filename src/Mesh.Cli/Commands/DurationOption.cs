using System.CommandLine;
using Mesh.Common.Time;

namespace Mesh.Cli.Commands;

/// <summary>
/// A command-line flag that takes a duration in Mesh's one syntax (<c>500ms</c>, <c>30s</c>,
/// <c>5m</c>, <c>2h</c>), read by <see cref="Durations"/> like sidecar.yaml and the registry's
/// query strings. <c>hh:mm:ss</c> and bare numbers are refused with the value spelled the right way.
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
            if (Parse(name, text, min, max) is { Error: { } error })
                result.AddError(error);
            return Durations.TryParse(text, out var value) ? value : default;
        };
        return option;
    }

    /// <summary>The value of flag <paramref name="name"/>, or the one-line error naming the flag.</summary>
    public static (TimeSpan Value, string? Error) Parse(string name, string text, TimeSpan min, TimeSpan? max = null)
    {
        if (!Durations.TryParse(text, out var value))
            return (default, $"{name}: {Durations.Problem(text)}");
        if (max is null && value < min)
            return (value, $"{name}: {text} is less than {Durations.Format(min)}");
        if (value < min || value > max)
            return (value, $"{name}: {text} is out of range ({Durations.Format(min)} .. {Durations.Format(max!.Value)})");
        return (value, null);
    }
}
