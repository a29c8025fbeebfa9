using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Cli.Inject;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Injector;

/// <summary>
/// A pod as JSON (what the API server sends) and as the YAML tree <see cref="PodInjection"/>
/// transforms, both ways without loss: JSON strings become quoted scalars, so a string that reads
/// like a number stays a string on the way back (see <see cref="YamlScalars"/>).
/// </summary>
internal static class YamlJson
{
    public static YamlNode ToYaml(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var mapping = new YamlMappingNode();
                foreach (var (key, value) in obj)
                    mapping.Children.Add(new YamlScalarNode(key) { Style = ScalarStyle.DoubleQuoted }, ToYaml(value));
                return mapping;
            case JsonArray array:
                return new YamlSequenceNode(array.Select(ToYaml));
            case JsonValue value:
                return value.GetValueKind() switch
                {
                    JsonValueKind.String => new YamlScalarNode(value.GetValue<string>()) { Style = ScalarStyle.DoubleQuoted },
                    JsonValueKind.True => new YamlScalarNode("true"),
                    JsonValueKind.False => new YamlScalarNode("false"),
                    JsonValueKind.Number => new YamlScalarNode(value.ToJsonString()),
                    _ => new YamlScalarNode("null"),
                };
            default:
                return new YamlScalarNode("null");
        }
    }

    /// <summary>The JSON of a YAML tree; a mapping key must be a scalar.</summary>
    public static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                        throw new FormatException($"a mapping key at line {key.Start.Line} is not a scalar");
                    obj[name] = ToJson(value);
                }
                return obj;
            case YamlSequenceNode sequence:
                return new JsonArray([.. sequence.Children.Select(ToJson)]);
            case YamlScalarNode scalar:
                return YamlScalars.ToJson(scalar);
            default:
                throw new FormatException($"a YAML node of type {node.NodeType} at line {node.Start.Line} has no JSON form");
        }
    }
}
