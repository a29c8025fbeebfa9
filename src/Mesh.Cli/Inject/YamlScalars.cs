using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Inject;

/// <summary>
/// What a YAML scalar means to Kubernetes: a plain scalar is a null, a boolean or a number when it
/// reads like one (the YAML core schema, plus the YAML 1.1 words Kubernetes' YAML reader still
/// takes for booleans), a string otherwise; a quoted or block scalar is always a string.
/// </summary>
internal static partial class YamlScalars
{
    [GeneratedRegex(@"^[-+]?[0-9]+$|^0x[0-9a-fA-F]+$|^0o[0-7]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$", RegexOptions.CultureInvariant)]
    private static partial Regex Float();

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex JsonNumber();

    private static readonly HashSet<string> Nulls = ["", "~", "null", "Null", "NULL"];
    private static readonly HashSet<string> Trues = ["true", "True", "TRUE"];
    private static readonly HashSet<string> Falses = ["false", "False", "FALSE"];
    private static readonly HashSet<string> Yaml11Booleans = ["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"];

    /// <summary>Whether <paramref name="value"/>, written plain, is read back as this string.</summary>
    public static bool PlainIsString(string value) =>
        !Nulls.Contains(value) && !Trues.Contains(value) && !Falses.Contains(value) && !Yaml11Booleans.Contains(value)
        && !Integer().IsMatch(value) && !Float().IsMatch(value);

    /// <summary>The JSON value of a scalar.</summary>
    public static JsonNode? ToJson(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style is not (ScalarStyle.Any or ScalarStyle.Plain))
            return JsonValue.Create(value);
        if (Nulls.Contains(value))
            return null;
        if (Trues.Contains(value))
            return JsonValue.Create(true);
        if (Falses.Contains(value))
            return JsonValue.Create(false);
        // A JSON number keeps its exact text, so a value read from JSON and written back compares equal.
        if (JsonNumber().IsMatch(value))
            return JsonNode.Parse(value);
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            return JsonValue.Create(integer);
        if (Float().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
            return JsonValue.Create(number);
        return JsonValue.Create(value);
    }
}
