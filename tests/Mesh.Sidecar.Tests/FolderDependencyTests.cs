using Mesh.Sidecar.Hosting;
using Mesh.Testing;

namespace Mesh.Sidecar.Tests;

/// <summary>
/// The sidecar's folders depend one way: every stage on Core/ and Configuration/, Hosting/ on the
/// stages and nothing on Hosting/. Read from the compiled assembly, so a `using` that slipped in
/// or a fully qualified name counts as much as any other reference.
/// </summary>
public sealed class FolderDependencyTests
{
    private static readonly Dictionary<string, Dictionary<string, SortedSet<string>>> Folders =
        FolderDependencies.Of(typeof(SidecarHost).Assembly, "Mesh.Sidecar");

    [Fact]
    public void Folders_OfTheSidecar_HaveNoCycle()
    {
        var cycles = FolderDependencies.Cycles(Folders);

        Assert.True(cycles.Count == 0, "folders of Mesh.Sidecar that use each other:" + Environment.NewLine + FolderDependencies.Describe(Folders, cycles));
    }

    [Fact]
    public void Hosting_IsUsedByNoOtherFolder()
    {
        var users = Folders.Where(f => f.Value.ContainsKey("Hosting")).Select(f => $"{f.Key} ({string.Join(", ", f.Value["Hosting"])})");

        Assert.Empty(users);
    }

    [Fact]
    public void Core_UsesNoOtherFolder()
    {
        Assert.Empty(Folders.GetValueOrDefault("Core")?.Keys ?? Enumerable.Empty<string>());
    }

    [Fact]
    public void Configuration_UsesOnlyCore()
    {
        Assert.Equal(["Core"], Folders["Configuration"].Keys);
    }

    [Fact]
    public void Cycles_TwoFoldersUsingEachOther_AreNamedWithTheTypesOnEachEdge()
    {
        var graph = new Dictionary<string, Dictionary<string, SortedSet<string>>>
        {
            ["A"] = new() { ["B"] = ["TypeB"] },
            ["B"] = new() { ["A"] = ["TypeA"], ["C"] = ["TypeC"] },
            ["C"] = [],
        };

        var cycles = FolderDependencies.Cycles(graph);

        Assert.Equal("A → B (TypeB) → A (TypeA)", FolderDependencies.Describe(graph, cycles));
    }
}
