// Reads YAML nodes into values while keeping line numbers, and collects every problem instead of
// stopping at the first: a user fixing a file wants the whole list, with paths.
using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Common.Time;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mesh.Sidecar.Configuration;

internal sealed partial class YamlReader(string file)
{
    public string File { get; } = file;

    public List<ConfigError> Errors { get; } = [];

    /// <summary>Loads the first document of <paramref name="text"/>; null (with an error) on a syntax error.</summary>
    public YamlNode? Load(string text)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            var message = e.InnerException?.Message ?? e.Message;
            // YamlDotNet prefixes its messages with the position; we print our own.
            var close = message.IndexOf("): ", StringComparison.Ordinal);
            if (message.StartsWith("(Line:", StringComparison.Ordinal) && close > 0)
                message = message[(close + 3)..];
            Errors.Add(new ConfigError(File, (int)e.Start.Line, "", "YAML syntax error: " + message));
            return null;
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet fails this way (without a position) on some broken flow collections, e.g.
            // "a: { b: [c\nd: [". Hostile input must be a config error, never an escaping exception.
            Errors.Add(new ConfigError(File, 1, "", "YAML syntax error: the document could not be parsed (" + e.Message + ")"));
            return null;
        }
    }

    public void Error(YamlNode node, string path, string message) =>
        Errors.Add(new ConfigError(File, (int)node.Start.Line, path, message));

    public MapReader? Map(YamlNode? node, string path)
    {
        if (node is null || IsNull(node))
            return null;
        if (node is YamlMappingNode mapping)
            return new MapReader(this, mapping, path);
        Error(node, path, "must be a mapping");
        return null;
    }

    public IEnumerable<(YamlNode Node, string Path)> Items(YamlNode? node, string path)
    {
        if (node is null || IsNull(node))
            yield break;
        if (node is not YamlSequenceNode sequence)
        {
            Error(node, path, "must be a list");
            yield break;
        }
        for (var i = 0; i < sequence.Children.Count; i++)
            yield return (sequence.Children[i], $"{path}[{i}]");
    }

    public string? String(YamlNode? node, string path)
    {
        if (node is null || IsNull(node))
            return null;
        if (node is YamlScalarNode scalar)
            return scalar.Value;
        Error(node, path, "must be a single value");
        return null;
    }

    public int? Int(YamlNode? node, string path, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            Error(node!, path, $"must be an integer, not '{text}'");
            return null;
        }
        if (value < min || value > max)
        {
            Error(node!, path, min == 1 && max == int.MaxValue ? "must be > 0" : max == int.MaxValue ? $"must be >= {min}" : $"must be between {min} and {max}");
            return null;
        }
        return value;
    }

    public long? Size(YamlNode? node, string path)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        var match = SizePattern().Match(text);
        if (!match.Success)
        {
            Error(node!, path, $"must be a size such as 32KB, 30MB or 1024, not '{text}'");
            return null;
        }
        var value = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return value * match.Groups[2].Value.ToUpperInvariant() switch
        {
            "KB" => 1024L,
            "MB" => 1024L * 1024,
            "GB" => 1024L * 1024 * 1024,
            _ => 1L,
        };
    }

    public double? Double(YamlNode? node, string path, double min, double max)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(node!, path, $"must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }
        return value;
    }

    public bool? Bool(YamlNode? node, string path)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        if (bool.TryParse(text, out var value))
            return value;
        Error(node!, path, $"must be true or false, not '{text}'");
        return null;
    }

    /// <summary>Durations are a number and a unit: 500ms, 30s, 1.5m, 2h (see <see cref="Durations"/>).</summary>
    public TimeSpan? Duration(YamlNode? node, string path, bool allowZero = false)
    {
        var text = String(node, path);
        if (text is null)
            return null;
        if (!Durations.TryParse(text, out var value))
        {
            Error(node!, path, $"must be a duration such as {Durations.Examples}, not '{text}'{Durations.Hint(text)}");
            return null;
        }
        if (value <= TimeSpan.Zero && !(allowZero && value == TimeSpan.Zero))
        {
            Error(node!, path, allowZero ? "must be >= 0" : "must be > 0");
            return null;
        }
        if (value > Durations.Longest)
        {
            Error(node!, path, $"must be at most {Durations.Format(Durations.Longest)}, not '{text}' (no timer waits longer)");
            return null;
        }
        return value;
    }

    public TEnum? Enum<TEnum>(YamlNode? node, string path, params (string Name, TEnum Value)[] choices)
        where TEnum : struct
    {
        var text = String(node, path);
        if (text is null)
            return null;
        foreach (var (name, value) in choices)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
                return value;
        }
        Error(node!, path, $"must be one of {string.Join(", ", choices.Select(c => c.Name))}, not '{text}'");
        return null;
    }

    public List<string> Strings(YamlNode? node, string path)
    {
        var list = new List<string>();
        if (node is YamlScalarNode && !IsNull(node))
        {
            list.Add(String(node, path)!);
            return list;
        }
        foreach (var (item, itemPath) in Items(node, path))
        {
            var value = String(item, itemPath);
            if (value is not null)
                list.Add(value);
        }
        return list;
    }

    public Dictionary<string, string> StringMap(YamlNode? node, string path)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Map(node, path) is not { } reader)
            return map;
        foreach (var (key, value) in reader.Node.Children)
        {
            var name = ((YamlScalarNode)key).Value ?? "";
            map[name] = String(value, $"{path}.{name}") ?? "";
        }
        return map;
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain } scalar && scalar.Value is null or "" or "~" or "null";


    [GeneratedRegex(@"^\s*(\d+)\s*(KB|MB|GB|B)?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex SizePattern();
}

/// <summary>
/// One YAML mapping being read: every key asked for is remembered, so the keys nobody asked for
/// can be reported as unknown fields (typos are the most common configuration error).
/// </summary>
internal sealed class MapReader(YamlReader reader, YamlMappingNode node, string path)
{
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public YamlMappingNode Node { get; } = node;

    public string Path { get; } = path;

    public YamlReader Reader { get; } = reader;

    public string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public YamlNode? Get(string key)
    {
        _known.Add(key);
        return Node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;
    }

    public bool Has(string key) => Node.Children.ContainsKey(new YamlScalarNode(key));

    public string? String(string key) => Reader.String(Get(key), Child(key));

    public int? Int(string key, int min = int.MinValue, int max = int.MaxValue) => Reader.Int(Get(key), Child(key), min, max);

    public bool? Bool(string key) => Reader.Bool(Get(key), Child(key));

    public TimeSpan? Duration(string key, bool allowZero = false) => Reader.Duration(Get(key), Child(key), allowZero);

    public MapReader? Map(string key) => Reader.Map(Get(key), Child(key));

    public List<string> Strings(string key) => Reader.Strings(Get(key), Child(key));

    public IEnumerable<(YamlNode Node, string Path)> Items(string key) => Reader.Items(Get(key), Child(key));

    /// <summary>Reports the keys that were never asked for; call after reading the mapping.</summary>
    public void ReportUnknownFields()
    {
        foreach (var (key, _) in Node.Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (!_known.Contains(name))
                Reader.Error(key, Child(name), "unknown field");
        }
    }
}
