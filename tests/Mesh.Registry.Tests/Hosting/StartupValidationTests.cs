using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Mesh.Registry.Consensus;
using Mesh.Registry.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.Hosting;

public sealed partial class StartupValidationTests
{
    private static string TempDir() => Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));

    private static RegistryNodeOptions Options(int id, string peers, string? data = null, int? clientPort = null) => new()
    {
        Id = id,
        Members = peers.Length == 0 ? [] : ClusterMember.ParseList(peers),
        DataDirectory = data ?? TempDir(),
        ClientEndPoint = new IPEndPoint(IPAddress.Loopback, clientPort ?? 0),
        LoggerFactory = NullLoggerFactory.Instance,
    };

    [Fact]
    public async Task Start_PeersWithoutOwnId_FailsWithOneLine()
    {
        await using var node = new RegistryNode(Options(4, "1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3"));
        var e = await Assert.ThrowsAsync<StartupException>(() => node.StartAsync());
        Assert.Contains("does not list this node's id 4", e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(SnapshotTail.Max + 1)]
    public async Task Start_SnapshotKeepOutOfRange_FailsWithOneLineNamingTheFlag(long keep)
    {
        var data = TempDir();
        await using var node = new RegistryNode(Options(1, "", data) with { SnapshotKeep = keep });
        var e = await Assert.ThrowsAsync<StartupException>(() => node.StartAsync());
        Assert.StartsWith($"--snapshot-keep {keep} must be 0 to 1,000,000", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public void ParseList_Garbage_ListsEveryProblem()
    {
        var e = Assert.Throws<FormatException>(() => ClusterMember.ParseList("1=nohost,x=1.2.3.4:5,2=127.0.0.1:7@bad"));
        Assert.Contains("member 1", e.Message);
        Assert.Contains("'x=1.2.3.4:5'", e.Message);
        Assert.Contains("member 2", e.Message);
    }

    [Fact]
    public void ParseList_HostNames_AreKeptAsNamesToResolveOnConnect()
    {
        var members = ClusterMember.ParseList("1=reg-0.peers:7101,2=reg-1.peers:7101,3=10.0.0.3:7101@10.0.0.3:7001");
        Assert.Equal(new DnsEndPoint("reg-0.peers", 7101), members[0].RaftEndPoint);
        Assert.Null(members[0].ClientEndPoint);
        Assert.Equal("3=10.0.0.3:7101@10.0.0.3:7001", members[2].ToString());
        Assert.Equal("1=reg-0.peers:7101", members[0].ToString());
        var e = Assert.Throws<FormatException>(() => ClusterMember.ParseList("1=bad_host!:7101,2=host:0"));
        Assert.Contains("member 1", e.Message);
        Assert.Contains("member 2", e.Message);
    }

    [Fact]
    public async Task Start_TornWriteAheadLog_FailsWithOneLineSayingHowToRecover()
    {
        var data = TempDir();
        await WriteTwentyAsync(Options(1, "", data) with { RaftLog = RaftLogKind.DotNext });

        // A torn last write: the tail of the newest log entry is zeros, as after a power cut.
        TearLastEntry(Directory.GetFiles(Path.Combine(data, "wal", "data")).Order().Last());

        await using var restarted = new RegistryNode(Options(1, "", data) with { RaftLog = RaftLogKind.DotNext });
        var e = await Assert.ThrowsAsync<StartupException>(() => restarted.StartAsync());
        Assert.Contains("write-ahead log", e.Message);
        Assert.Contains("re-sync it from the leader", e.Message);
    }

    [Fact]
    public async Task Start_MeshRaftLogDamagedInACommittedEntry_FailsWithOneLineSayingHowToRecover()
    {
        var data = TempDir();
        await WriteTwentyAsync(Options(1, "", data) with { RaftLog = RaftLogKind.Mesh });

        // The first entry was committed (and applied), so damage there is not a torn tail to cut. (The
        // last one may not be: a node appends entries of its own, e.g. a new term's, at any time.)
        var segment = Directory.GetFiles(Path.Combine(data, "raft", "segments")).Order().First();
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[Mesh.Registry.Consensus.LogStore.EntryFrame.HeaderSize + 1] ^= 0xFF;
        await File.WriteAllBytesAsync(segment, bytes);

        await using var restarted = new RegistryNode(Options(1, "", data) with { RaftLog = RaftLogKind.Mesh });
        var e = await Assert.ThrowsAsync<StartupException>(() => restarted.StartAsync());
        Assert.Contains("raft log", e.Message);
        Assert.Contains("re-sync from the leader", e.Message);
    }

    [Theory]
    [InlineData(RaftLogKind.DotNext, RaftLogKind.Mesh, "--raft-log dotnext")]
    [InlineData(RaftLogKind.Mesh, RaftLogKind.DotNext, "--raft-log mesh")]
    public async Task Start_OnTheOtherRaftLogsData_FailsNamingTheLogItWasWrittenWith(RaftLogKind written, RaftLogKind started, string named)
    {
        var data = TempDir();
        await WriteTwentyAsync(Options(1, "", data) with { RaftLog = written });

        await using var restarted = new RegistryNode(Options(1, "", data) with { RaftLog = started });
        var e = await Assert.ThrowsAsync<StartupException>(() => restarted.StartAsync());
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains("Upgrading", e.Message, StringComparison.Ordinal);
    }

    private static async Task WriteTwentyAsync(RegistryNodeOptions options)
    {
        await using var node = new RegistryNode(options);
        await node.StartAsync();
        using var http = new HttpClient();
        for (var i = 0; i < 20; i++)
            (await http.PostAsync(new Uri(node.ClientUrl, $"v1/nodes/k{i}?mode=persistent"), new StringContent($"value-{i}"))).EnsureSuccessStatusCode();
    }

    private static void TearLastEntry(string file)
    {
        var bytes = File.ReadAllBytes(file);
        var last = Array.FindLastIndex(bytes, b => b != 0);
        Array.Clear(bytes, Math.Max(0, last - 40), Math.Min(41, last + 1));
        File.WriteAllBytes(file, bytes);
    }

    [Fact]
    public async Task Start_DataDirectoryInUseOrClientPortTaken_Fails()
    {
        var data = TempDir();
        await using var first = new RegistryNode(Options(1, "", data));
        await first.StartAsync();

        await using var second = new RegistryNode(Options(1, "", data));
        var inUse = await Assert.ThrowsAsync<StartupException>(() => second.StartAsync());
        Assert.Contains("in use", inUse.Message);

        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var thirdData = TempDir();
        await using var third = new RegistryNode(Options(1, "", thirdData, clientPort: ((IPEndPoint)taken.LocalEndPoint!).Port));
        var portTaken = await Assert.ThrowsAsync<StartupException>(() => third.StartAsync());
        Assert.Contains("already in use", portTaken.Message);
        // Ports are checked before the data directory is touched: a failed start leaves nothing behind.
        Assert.False(Directory.Exists(thirdData));

        var raftPort = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var fourthData = TempDir();
        await using var fourth = new RegistryNode(Options(1, $"1=127.0.0.1:{raftPort},2=127.0.0.1:1,3=127.0.0.1:2", fourthData));
        var raftTaken = await Assert.ThrowsAsync<StartupException>(() => fourth.StartAsync());
        Assert.Contains($"cannot listen for peers on 127.0.0.1:{raftPort}: the address is already in use", raftTaken.Message);
        Assert.False(Directory.Exists(fourthData));
    }

    [Fact]
    public async Task MeshRegistryProcess_ServesWritesAndRejectsBadInputWithExitCode()
    {
        var (code, output) = await MeshProcess.RunAsync("registry", "--id", "2", "--peers", "1=127.0.0.1:7101", "--data", TempDir());
        Assert.Equal(2, code);
        Assert.Equal("mesh registry: --peers does not list this node's id 2 (ids: 1)", output.Trim());

        var noSocketData = TempDir();
        (code, output) = await MeshProcess.RunAsync("registry", "--id", "1", "--data", noSocketData, "--client", "127.0.0.1:0", "--listen-peer", "fd:987");
        Assert.Equal(2, code);
        Assert.StartsWith("mesh registry: --listen-peer fd:987: file descriptor 987 is not an open socket", output.Trim());
        Assert.False(Directory.Exists(noSocketData));

        // Port 0: the node says where it listens.
        await using var process = MeshProcess.Start("registry", "--id", "1", "--data", TempDir(), "--client", "127.0.0.1:0");
        var url = (await process.WaitForMatchAsync(ServingLine(), TimeSpan.FromSeconds(60))).Groups[1].Value;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.TrueAsync(async () =>
        {
            using var created = await http.PostAsync($"{url}/v1/nodes/hello", new StringContent("world"));
            return created.StatusCode == HttpStatusCode.Created;
        }, "the registry process never accepted a write");
        Assert.Equal("world", await http.GetStringAsync($"{url}/v1/nodes/hello?raw=true"));
        Assert.Contains("standalone", await http.GetStringAsync($"{url}/v1/status"));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"serving clients on (http://[0-9.]+:[0-9]+)")]
    private static partial System.Text.RegularExpressions.Regex ServingLine();
}
