using System.Text.Json.Nodes;

namespace Mesh.Cli.Injector;

/// <summary>
/// The RFC 6902 JSON Patch that turns one document into another: objects are compared key by key,
/// arrays of the same length item by item, and anything else that differs is replaced whole (an
/// array that grew is replaced, never patched by index, so the patch cannot depend on positions
/// that another webhook might have shifted).
/// </summary>
internal static class JsonPatchDiff
{
    public static JsonArray Diff(JsonNode? before, JsonNode? after)
    {
        var operations = new JsonArray();
        Walk("", before, after, operations);
        return operations;
    }

    private static void Walk(string path, JsonNode? before, JsonNode? after, JsonArray operations)
    {
        if (JsonNode.DeepEquals(before, after))
            return;
        if (before is JsonObject beforeObject && after is JsonObject afterObject)
        {
            foreach (var (key, _) in beforeObject)
            {
                if (!afterObject.ContainsKey(key))
                    operations.Add(Operation("remove", path + "/" + Escape(key)));
            }
            foreach (var (key, value) in afterObject)
            {
                var at = path + "/" + Escape(key);
                if (beforeObject.TryGetPropertyValue(key, out var old))
                    Walk(at, old, value, operations);
                else
                    operations.Add(Operation("add", at, value));
            }
            return;
        }
        if (before is JsonArray beforeArray && after is JsonArray afterArray && beforeArray.Count == afterArray.Count)
        {
            for (var i = 0; i < beforeArray.Count; i++)
                Walk(path + "/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), beforeArray[i], afterArray[i], operations);
            return;
        }
        operations.Add(Operation("replace", path, after));
    }

    /// <summary>A JSON Pointer reference token: <c>~</c> and <c>/</c> escaped (RFC 6901).</summary>
    internal static string Escape(string key) => key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static JsonObject Operation(string op, string path) => new() { ["op"] = op, ["path"] = path };

    private static JsonObject Operation(string op, string path, JsonNode? value) => new() { ["op"] = op, ["path"] = path, ["value"] = value?.DeepClone() };
}
