using System.Net;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>Clients people run, unchanged, against a real node: Debian's zkCli (ZooKeeper 3.8's Java client) and kazoo.</summary>
public sealed class RealClientTests(ITestOutputHelper output)
{
    private const string ZkCli = "/usr/share/zookeeper/bin/zkCli.sh";
    private const string Python = "/usr/bin/python3";

    [SkippableFact]
    public async Task ZkCli_Script_CreatesGetsSetsListsStatsAndDeletes_OnTheRegistryTree()
    {
        RequiredTool.Check(File.Exists(ZkCli) && File.Exists("/usr/bin/java") ? null : $"{ZkCli} or java is missing (scripts/install-test-deps.sh installs Debian's zookeeper)");
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        var node = cluster.Nodes[0]!;
        const string script = """
            create /cli hello
            get -s /cli
            set /cli world
            get /cli
            create /cli/a
            create -s /cli/s- x
            create -e /cli/e y
            ls /cli
            stat /cli
            delete /cli/a
            ls /cli
            deleteall /cli
            ls /
            quit
            """;
        var (code, text) = await ToolProcess.RunAsync(ZkCli, ["-server", zk.ToString()], script);
        output.WriteLine(text);
        Assert.Equal(0, code);
        var cliIndex = node.Store.Read(s => s.AppliedIndex);
        Assert.Contains("Created /cli\n", text);
        Assert.Contains("hello\ncZxid = 0x", text);
        Assert.Contains("dataVersion = 0", text);
        Assert.Contains("world\n", text);
        Assert.Contains("Created /cli/s-0000000001", text);
        Assert.Contains("[a, e, s-0000000001]", text);
        Assert.Contains("dataVersion = 1", text);
        Assert.Contains("numChildren = 3", text);
        Assert.Contains("cversion = 3", text);
        Assert.Contains("[e, s-0000000001]", text);
        Assert.DoesNotContain("Exception", text);
        Assert.True(cliIndex > 0);
        // deleteall went through the registry's tree: the HTTP API agrees it is gone.
        var response = await cluster.Http.GetAsync(cluster.Url(node, "/v1/nodes/cli"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [SkippableFact]
    public async Task Kazoo_Smoke_EphemeralSequentialWatchesMultiErrorsAndLock()
    {
        RequiredTool.Check(File.Exists(Python) && (await ToolProcess.RunAsync(Python, ["-c", "import kazoo"], "")).Code == 0 ? null : $"{Python} with python3-kazoo is missing (scripts/install-test-deps.sh installs it)");
        var (cluster, zk) = await ZkNodes.StartAsync();
        await using var _ = cluster;
        var script = Path.Combine(AppContext.BaseDirectory, "ZooKeeper", "kazoo_smoke.py");
        var (code, text) = await ToolProcess.RunAsync(Python, [script, zk.ToString()], "");
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.EndsWith("ok\n", text);
        Assert.False(cluster.Nodes[0]!.Store.Read(s => s.Exists("/smoke/services/other").IsOk));
    }
}
