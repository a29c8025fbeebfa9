using Mesh.Cli.Inject;

namespace Mesh.Cli.Tests.Inject;

/// <summary>
/// <c>mesh inject</c> as a command: where the manifest comes from (a file, standard input), where
/// the result goes (standard output, <c>-o</c>), and what an invalid manifest does (one line
/// naming the place, exit 1, nothing written).
/// </summary>
public sealed class InjectCommandTests : IDisposable
{
    private static readonly string SamplePath = Path.Combine(RepoRoot.Path, "deploy", "k8s", "shop.yaml");
    private static readonly string Expected = new ManifestInjector(new InjectOptions()).Inject(File.ReadAllText(SamplePath), SamplePath);
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-inject-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int ExitCode, string Out, string Err) Run(params string[] args) => MeshInProcess.Run(args);

    [Fact]
    public void Inject_AFile_WritesTheInjectedManifestToStandardOutput()
    {
        var (exitCode, output, error) = Run("inject", "-f", SamplePath);

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Equal(Expected, output);
        Assert.Contains("name: mesh-sidecar", output);
    }

    [Fact]
    public void Inject_WithOutputFile_WritesThereAndNothingToStandardOutput()
    {
        var target = Path.Combine(_dir, "injected.yaml");

        var (exitCode, output, error) = Run("inject", "-f", SamplePath, "-o", target);

        Assert.Equal(0, exitCode);
        Assert.Equal("", output);
        Assert.Equal("", error);
        Assert.Equal(Expected, File.ReadAllText(target));
    }

    [Fact]
    public async Task Inject_Dash_ReadsStandardInput()
    {
        // Standard input is the process's, so this runs the built mesh binary.
        var (exitCode, stdout, stderr) = await MeshProcess.RunAsync(MeshProcess.Mesh, ["inject", "-f", "-"], input: File.ReadAllText(SamplePath));

        Assert.True(exitCode == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Equal(new ManifestInjector(new InjectOptions()).Inject(File.ReadAllText(SamplePath), "<stdin>"), stdout);
        Assert.Contains("name: mesh-sidecar", stdout);
    }

    [Fact]
    public void Inject_InvalidYaml_FailsWithOneLineNamingTheLine_AndWritesNothing()
    {
        var source = Path.Combine(_dir, "broken.yaml");
        File.WriteAllText(source, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\nspec: [\n");
        var target = Path.Combine(_dir, "injected.yaml");

        var (exitCode, output, error) = Run("inject", "-f", source, "-o", target);

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.False(File.Exists(target));
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"mesh inject: {source}:6:", line);
        Assert.Contains("invalid YAML", line);
        Assert.EndsWith("(nothing written)", line.TrimEnd());
    }

    [Fact]
    public void Inject_DeploymentWithoutPodSpec_FailsWithOneLineNamingTheWorkloadAndLine_AndWritesNothingToStandardOutput()
    {
        var source = Path.Combine(_dir, "nopod.yaml");
        File.WriteAllText(source, "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n");

        var (exitCode, output, error) = Run("inject", "-f", source);

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"mesh inject: {source}:5: Deployment 'web': spec.template.spec is missing (nothing written)", line.TrimEnd());
    }

    [Fact]
    public void Inject_AMissingFile_FailsWithOneLine()
    {
        var (exitCode, output, error) = Run("inject", "-f", Path.Combine(_dir, "absent.yaml"));

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("mesh inject: ", line);
        Assert.Contains("absent.yaml", line);
    }
}
