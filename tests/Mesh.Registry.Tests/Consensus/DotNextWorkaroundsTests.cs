using System.Net;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Mesh.Registry.Consensus;

namespace Mesh.Registry.Tests.Consensus;

/// <summary>One test per workaround in DotNextWorkarounds.cs: each fails when a DotNext upgrade breaks what it relies on.</summary>
public sealed class DotNextWorkaroundsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mesh-registry-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public void PersistentState_InternalSetter_IsReachedThroughTheWriteAheadLogBase()
    {
        Assert.True(DotNextWorkarounds.PersistentStateNeedsTheWriteAheadLogBase,
            "IPersistentState.ConfigurationStorage's setter is public now (or WriteAheadLog sealed): MeshPersistentState can implement the interface directly");
        var map = typeof(Mesh.Registry.Consensus.LogStore.MeshPersistentState).GetInterfaceMap(typeof(IPersistentState));
        var setter = typeof(IPersistentState).GetProperty(nameof(IPersistentState.ConfigurationStorage))!.SetMethod!;
        Assert.Equal(typeof(WriteAheadLog), map.TargetMethods[Array.IndexOf(map.InterfaceMethods, setter)].DeclaringType);
    }

    [Fact]
    public async Task BackgroundFailure_PrivateFieldOfTheLog_IsReadAndWritten()
    {
        Assert.True(DotNextWorkarounds.CanObserveBackgroundFailures, "WriteAheadLog has no private Exception field 'backgroundTaskFailure' any more");
        await using var log = NewLog();
        Assert.Null(log.Failure);

        var failure = new InvalidOperationException("flusher died");
        log.InjectFailure(failure);

        Assert.Same(failure, log.Failure);
    }

    [Fact]
    public void Append_TheRaftLayersInterfaceMethod_IsTheOneThatFlushes()
    {
        // The Raft layer appends a follower's entries through IAuditTrail<IRaftLogEntry>; only
        // while that call lands in DurableWriteAheadLog does a follower's answer wait for the disk.
        var map = typeof(DurableWriteAheadLog).GetInterfaceMap(typeof(DotNext.IO.Log.IAuditTrail<IRaftLogEntry>));
        var append = Assert.Single(map.InterfaceMethods, m => m.Name == "AppendAsync" && m.GetParameters().Length == 4 && m.GetParameters()[1].ParameterType == typeof(long));
        var target = map.TargetMethods[Array.IndexOf(map.InterfaceMethods, append)];
        Assert.Equal(typeof(DurableWriteAheadLog), target.DeclaringType);
    }

    [Fact]
    public async Task SnapshotIndex_OfTheFileSimpleStateMachineWrites_IsTheIndexItWasTakenAt()
    {
        // A real cluster of one, snapshotting every 5 entries: the file DotNext writes parses.
        await using var cluster = await TestCluster.StartAsync(1, o => o with { SnapshotEvery = 5 });
        var leader = await cluster.WaitForLeaderAsync();
        for (var i = 0; i < 12; i++)
            (await cluster.Http.PostAsync(cluster.Url(leader, $"/v1/nodes/snap/k{i}?parents=true"), new StringContent("v"))).EnsureSuccessStatusCode();

        var snapshots = Path.Combine(cluster.OptionsOf(1).DataDirectory, "snapshots");
        using var timeout = new CancellationTokenSource(TestCluster.Timeout);
        while (Directory.GetFiles(snapshots).Length == 0)
            await Task.Delay(50, timeout.Token);
        var index = DotNextWorkarounds.SnapshotIndex(new FileInfo(Directory.GetFiles(snapshots).Max()!));
        Assert.InRange(index, 5, leader.Consensus.CommitIndex);

        Assert.Throws<InvalidDataException>(() => DotNextWorkarounds.SnapshotIndex(new FileInfo("snapshot.bin")));
    }

    [Fact]
    public void SeedInitialMembers_ConfigurationStorageSetToNull_IsTheInMemoryStorageAndTakesTheMembers()
    {
        var config = new RaftCluster.TcpConfiguration(new IPEndPoint(IPAddress.Loopback, 1))
        {
            ConfigurationStorage = null,
        };

        DotNextWorkarounds.SeedInitialMembers(config, [new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.Loopback, 2), new DnsEndPoint("reg-2", 3)]);

        Assert.IsAssignableFrom<DotNext.Net.Cluster.Consensus.Raft.Membership.InMemoryClusterConfigurationStorage<EndPoint>>(config.ConfigurationStorage);
    }

    private DurableWriteAheadLog NewLog() =>
        new(new WriteAheadLog.Options { Location = Path.Combine(_root, "wal") }, new NoOpStateMachine(new DirectoryInfo(Path.Combine(_root, "snapshots"))));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class NoOpStateMachine(DirectoryInfo location) : SimpleStateMachine(location)
    {
        protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token) => new(false);

        protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token) => ValueTask.CompletedTask;

        protected override ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token) => ValueTask.CompletedTask;
    }
}
