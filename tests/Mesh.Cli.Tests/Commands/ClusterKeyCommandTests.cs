using Mesh.Registry.PeerTls;

namespace Mesh.Cli.Tests.Commands;

/// <summary><c>mesh registry keygen</c>, <c>--cluster-key-file</c> and the refusal to run an exposed peer port without it.</summary>
public sealed class ClusterKeyCommandTests
{
    private static string TempPath(string name) =>
        Path.Combine(Directory.CreateTempSubdirectory("mesh-cluster-key-").FullName, name);

    [Fact]
    public void Keygen_PrintsAKeyThatTheFlagAccepts()
    {
        var (code, output, error) = MeshInProcess.Run("registry", "keygen");

        Assert.True(code == 0, error);
        var line = output.Trim();
        Assert.Equal(ClusterKey.MinimumBytes, Convert.FromBase64String(line).Length);
        Assert.Equal(line, ClusterKey.Parse(line).ToBase64());
        Assert.NotEqual(line, MeshInProcess.Run("registry", "keygen").Out.Trim());
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void KeygenOut_WritesANewFileOnlyItsOwnerReads_AndNeverOverwritesOne()
    {
        var path = TempPath("cluster.key");

        var (code, output, error) = MeshInProcess.Run("registry", "keygen", "--out", path);

        Assert.True(code == 0, error);
        Assert.Equal("", output);
        var key = ClusterKey.ReadFile(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        (code, _, error) = MeshInProcess.Run("registry", "keygen", "--out", path);
        Assert.Equal(1, code);
        Assert.Contains("the file exists", error, StringComparison.Ordinal);
        Assert.Equal(key.ToBase64(), ClusterKey.ReadFile(path).ToBase64());
    }

    public static TheoryData<string, string> BadKeyFiles() => new()
    {
        { "missing", "no such file" },
        { "short", "the key is 16 bytes; it needs at least 32 random bytes" },
        { "not base64", "the key is not base64" },
        { "empty", "the file is empty" },
    };

    [Theory]
    [MemberData(nameof(BadKeyFiles))]
    public async Task Registry_WithABadKeyFile_FailsWithOneLineNamingTheFlagTheFileAndTheProblem(string kind, string problem)
    {
        var path = TempPath("cluster.key");
        var content = kind switch
        {
            "short" => Convert.ToBase64String(new byte[16].Select((_, i) => (byte)i).ToArray()),
            "not base64" => "replace-me-registry-cluster-key",
            "empty" => "\n",
            _ => null,
        };
        if (content is not null)
            await File.WriteAllTextAsync(path, content);

        var (code, _, error) = await MeshInProcess.RunAsync("registry", "--id", "1", "--data", TempPath("data"), "--client", "127.0.0.1:0", "--cluster-key-file", path);

        Assert.Equal(2, code);
        Assert.StartsWith($"mesh registry: --cluster-key-file '{path}': {problem}", error.Trim(), StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Registry_WithPeersOnOtherHostsAndNoKey_RefusesToStartNamingBothFlags()
    {
        var data = TempPath("data");

        var (code, _, error) = await MeshInProcess.RunAsync("registry", "--id", "1", "--peers", "1=192.0.2.1:7101,2=192.0.2.2:7101,3=192.0.2.3:7101",
            "--data", data, "--client", "127.0.0.1:0");

        Assert.Equal(2, code);
        var line = Assert.Single(error.Trim().Split('\n'));
        Assert.StartsWith("mesh registry: the Raft peer port can be reached from other hosts (--peers lists 192.0.2.1:7101)", line, StringComparison.Ordinal);
        Assert.Contains("--cluster-key-file", line, StringComparison.Ordinal);
        Assert.Contains("--insecure-peer-transport", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public async Task Registry_ListeningOnEveryInterfaceWithNoKey_RefusesToStart()
    {
        var (code, _, error) = await MeshInProcess.RunAsync("registry", "--id", "1", "--peers", "1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103",
            "--listen-peer", "0.0.0.0:7101", "--data", TempPath("data"), "--client", "127.0.0.1:0");

        Assert.Equal(2, code);
        Assert.Contains("(--listen-peer is 0.0.0.0:7101)", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registry_WithBothTheKeyAndTheInsecureFlag_RefusesToStart()
    {
        var path = TempPath("cluster.key");
        await File.WriteAllTextAsync(path, ClusterKey.Generate().ToBase64());

        var (code, _, error) = await MeshInProcess.RunAsync("registry", "--id", "1", "--data", TempPath("data"), "--client", "127.0.0.1:0",
            "--cluster-key-file", path, "--insecure-peer-transport");

        Assert.Equal(2, code);
        Assert.Contains("--cluster-key-file and --insecure-peer-transport contradict each other", error, StringComparison.Ordinal);
    }
}
