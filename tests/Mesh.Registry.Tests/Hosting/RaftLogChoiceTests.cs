using System.Net;
using Mesh.Registry.Consensus;
using Mesh.Registry.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.Hosting;

/// <summary>
/// <c>--raft-log auto</c>, the default: a new data directory starts on the registry's own log, an
/// existing one stays on the log that wrote it (forcing the other log is refused, see
/// <see cref="StartupValidationTests"/>).
/// </summary>
public sealed class RaftLogChoiceTests
{
    private static string TempDir() => Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));

    private static RegistryNodeOptions Options(string data, RaftLogKind log, ILoggerFactory? logs = null) => new()
    {
        Id = 1,
        Members = [],
        DataDirectory = data,
        ClientEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        LoggerFactory = logs ?? NullLoggerFactory.Instance,
        RaftLog = log,
    };

    [Fact]
    public void Default_WithoutTheEnvironmentVariable_IsAuto()
    {
        Assert.Equal(RaftLogKind.Auto, RaftLogKinds.Parse("auto"));
        Assert.Equal(RaftLogKind.Auto, RaftLogKinds.Parse(" AUTO "));
        var e = Assert.Throws<FormatException>(() => RaftLogKinds.Parse("wal"));
        Assert.Contains("auto, mesh or dotnext", e.Message, StringComparison.Ordinal);
        if (Environment.GetEnvironmentVariable(RaftLogKinds.EnvironmentVariable) is null or "")
            Assert.Equal(RaftLogKind.Auto, RaftLogKinds.Default);
    }

    [Fact]
    public async Task Start_AutoOnAnEmptyDirectory_RunsTheRegistrysOwnLog()
    {
        var data = TempDir();
        await using var node = new RegistryNode(Options(data, RaftLogKind.Auto));
        await node.StartAsync();
        await WriteAsync(node, "k", "v");

        Assert.Equal(RaftLogKind.Mesh, ((RaftConsensus)node.Consensus).LogKind);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(data, "raft", "segments")));
        Assert.False(Directory.Exists(Path.Combine(data, "wal")) && Directory.EnumerateFileSystemEntries(Path.Combine(data, "wal")).Any());
    }

    [Theory]
    [InlineData(RaftLogKind.DotNext)]
    [InlineData(RaftLogKind.Mesh)]
    public async Task Start_AutoOnAWrittenDirectory_KeepsTheLogThatWroteItAndItsData(RaftLogKind written)
    {
        var data = TempDir();
        await using (var first = new RegistryNode(Options(data, written)))
        {
            await first.StartAsync();
            await WriteAsync(first, "kept", "before the restart");
        }

        var logs = new CapturedLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var restarted = new RegistryNode(Options(data, RaftLogKind.Auto, factory));
        await restarted.StartAsync();

        Assert.Equal(written, ((RaftConsensus)restarted.Consensus).LogKind);
        using var http = new HttpClient();
        // A linearizable read, so it waits (503 until then) for the restarted node to lead again.
        await Eventually.TrueAsync(async () =>
        {
            using var kept = await http.GetAsync(new Uri(restarted.ClientUrl, "v1/nodes/kept?raw=true"));
            return kept.IsSuccessStatusCode && await kept.Content.ReadAsStringAsync() == "before the restart";
        }, "the restarted node never served what it had");
        var howToMove = logs.Messages.Where(m => m.Contains("--raft-log auto", StringComparison.Ordinal)).ToArray();
        if (written == RaftLogKind.DotNext)
        {
            // One line that names the directory and how to move, nothing about the registry's own log otherwise.
            var line = Assert.Single(howToMove);
            Assert.Contains(Path.Combine(data, "wal"), line, StringComparison.Ordinal);
            Assert.Contains("Upgrading", line, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(howToMove);
        }
    }

    private static async Task WriteAsync(RegistryNode node, string name, string value)
    {
        using var http = new HttpClient();
        (await http.PostAsync(new Uri(node.ClientUrl, $"v1/nodes/{name}?mode=persistent"), new StringContent(value))).EnsureSuccessStatusCode();
    }
}
