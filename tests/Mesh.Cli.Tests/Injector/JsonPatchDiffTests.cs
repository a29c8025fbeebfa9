using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Cli.Injector;
using Microsoft.AspNetCore.JsonPatch.SystemTextJson;

namespace Mesh.Cli.Tests.Injector;

public sealed class JsonPatchDiffTests
{
    public static TheoryData<string, string> Pairs() => new()
    {
        { "{}", "{}" },
        { "{\"a\": 1}", "{\"a\": 2}" },
        { "{\"a\": 1, \"b\": 2}", "{\"b\": 2}" },
        { "{\"metadata\": {}}", "{\"metadata\": {\"annotations\": {\"mesh.dev/inject-status\": \"injected\", \"a~b\": \"x\"}}}" },
        { "{\"metadata\": {\"annotations\": {\"mesh.dev/x\": \"1\"}}}", "{\"metadata\": {\"annotations\": {\"mesh.dev/x\": \"2\", \"mesh.dev/y\": \"3\"}}}" },
        { "{\"c\": [1, 2, 3]}", "{\"c\": [0, 1, 2, 3]}" },
        { "{\"c\": [{\"n\": \"a\", \"p\": 1}, {\"n\": \"b\"}]}", "{\"c\": [{\"n\": \"a\", \"p\": 2}, {\"n\": \"b\", \"q\": [1]}]}" },
        { "{\"c\": [1, 2]}", "{\"c\": {\"now\": \"an object\"}}" },
        { "{\"s\": \"8080\"}", "{\"s\": 8080}" },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Diff_AppliedByARealJsonPatchImplementation_TurnsBeforeIntoAfter(string before, string after)
    {
        var from = (JsonObject)JsonNode.Parse(before)!;
        var to = JsonNode.Parse(after)!;

        var patch = JsonPatchDiff.Diff(from, to);

        var document = JsonSerializer.Deserialize<JsonPatchDocument>(patch.ToJsonString())!;
        var target = (JsonObject)from.DeepClone();
        document.ApplyTo(target);
        Assert.True(JsonNode.DeepEquals(to, target), $"{patch.ToJsonString()} gave {target.ToJsonString()}");
    }

    [Fact]
    public void Diff_OfEqualDocuments_IsEmpty()
    {
        var pod = JsonNode.Parse("{\"spec\": {\"containers\": [{\"name\": \"web\"}]}}");

        Assert.Empty(JsonPatchDiff.Diff(pod, pod!.DeepClone()));
    }

    [Fact]
    public void Diff_AKeyWithSlashAndTilde_IsEscapedInThePointer()
    {
        var patch = JsonPatchDiff.Diff(JsonNode.Parse("{\"m\": {}}"), JsonNode.Parse("{\"m\": {\"a/b~c\": 1}}"));

        Assert.Equal("/m/a~1b~0c", (string?)Assert.Single(patch)!["path"]);
    }
}
