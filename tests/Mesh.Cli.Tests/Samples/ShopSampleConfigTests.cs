using Mesh.Sidecar.Configuration;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Tests.Samples;

/// <summary>
/// The Shop sample's sidecar files (docs/registry.md, "Running a mesh by hand") as the sidecar reads them:
/// valid, mTLS only, in namespace shop, so catalog's policy (only shop/frontend) lets the
/// frontend in and nobody else.
/// </summary>
public sealed class ShopSampleConfigTests
{
    private static readonly string MeshDir = Path.Combine(RepoRoot.Path, "samples", "Shop", "mesh");

    private static readonly string[] SidecarFileNames = ["frontend-v1.yaml", "catalog-v1.yaml", "catalog-v2.yaml", "inventory-v1.yaml"];

    public static TheoryData<string> SidecarFiles() => [.. SidecarFileNames];

    [Fact]
    public void SidecarFiles_AreEverySidecarFileOfTheSample()
    {
        var onDisk = Directory.GetFiles(MeshDir, "*.yaml").Select(Path.GetFileName)
            .Where(f => f is not ("routes.yaml" or "policies.yaml")).Order(StringComparer.Ordinal);

        Assert.Equal(SidecarFileNames.Order(StringComparer.Ordinal), onDisk);
    }

    [Theory]
    [MemberData(nameof(SidecarFiles))]
    public void SidecarFile_PassesTheSidecarsCheck(string file)
    {
        var (exitCode, output, error) = MeshInProcess.Run("sidecar", "--config", Path.Combine(MeshDir, file), "--check");

        Assert.True(exitCode == 0, error);
        Assert.Contains(": valid", output);
    }

    [Theory]
    [MemberData(nameof(SidecarFiles))]
    public void SidecarFile_IsStrictMutualTlsInNamespaceShop_WithTheJoinTokenFromTheEnvironment(string file)
    {
        var config = SidecarConfigLoader.LoadFile(Path.Combine(MeshDir, file));

        Assert.Equal("shop", config.Service.Namespace);
        Assert.Equal(TlsMode.Strict, config.Tls.Mode);
        // No token in a file in the repository: it comes from $MESH_JOIN_TOKEN.
        Assert.Null(config.Tls.JoinToken);
        Assert.Null(config.Tls.JoinTokenFile);
        Assert.Equal(file, $"{config.Service.Name}-{config.Service.Version}.yaml");
    }

    [Fact]
    public void CatalogPolicy_AllowsExactlyTheFrontendOfTheSample()
    {
        var frontend = SidecarConfigLoader.LoadFile(Path.Combine(MeshDir, "frontend-v1.yaml"));
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(MeshDir, "policies.yaml"))));
        var policy = (YamlMappingNode)stream.Documents[0].RootNode;

        Assert.Equal("catalog", ((YamlScalarNode)policy.Children[new YamlScalarNode("service")]).Value);
        var rule = Assert.Single(((YamlSequenceNode)policy.Children[new YamlScalarNode("rules")]).Children.Cast<YamlMappingNode>());
        Assert.Equal("allow", ((YamlScalarNode)rule.Children[new YamlScalarNode("action")]).Value);
        var from = ((YamlSequenceNode)rule.Children[new YamlScalarNode("from")]).Children.Select(n => ((YamlScalarNode)n).Value);
        Assert.Equal([$"{frontend.Service.Namespace}/{frontend.Service.Name}"], from);
    }
}
