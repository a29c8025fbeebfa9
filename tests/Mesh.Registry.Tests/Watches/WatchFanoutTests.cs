using System.Text;
using System.Text.Json;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Watches;
using Microsoft.Extensions.Time.Testing;
using ChangeEvent = Mesh.Registry.Core.Events.ChangeEvent;

namespace Mesh.Registry.Tests.Watches;

public sealed class WatchFanoutTests
{
    [Fact]
    public void Dispatch_ChangeWantedByManyStreams_QueuesTheSameBytesToEach()
    {
        var hub = new WatchHub();
        var streams = Enumerable.Range(0, 50)
            .Select(i => hub.Fanout.Subscribe([new WatchTarget(i % 2 == 0 ? WatchKind.Prefix : WatchKind.Exact, i % 2 == 0 ? "/a" : "/a/b")], "c" + i, 0))
            .ToList();

        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/a/b")]);

        var lines = streams.Select(s => Assert.Single(Drain(s)).Line).ToList();
        Assert.All(lines, line => Assert.Same(lines[0], line));
        var record = Parse(lines[0]);
        Assert.Equal(new WatchStreamRecord(Contracts.ChangeEvent.Created, 1, "/a/b"), record);
    }

    [Fact]
    public void Dispatch_OverlappingWatchesOfOneStream_SendEachChangeOnce()
    {
        var hub = new WatchHub();
        var stream = hub.Fanout.Subscribe([new(WatchKind.Prefix, "/"), new(WatchKind.Prefix, "/a"), new(WatchKind.Exact, "/a/b")], "c", 0);

        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/a/b"), new ChangeEvent(1, ChangeEventType.ChildrenChanged, "/a")]);

        Assert.Equal(["/a/b", "/a"], Drain(stream).Select(r => Parse(r.Line).Path));
    }

    [Fact]
    public void Dispatch_PathsOutsideTheWatches_AreNotQueued()
    {
        var hub = new WatchHub();
        var stream = hub.Fanout.Subscribe([new(WatchKind.Prefix, "/a"), new(WatchKind.Exact, "/x")], "c", 0);

        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/ab"), new ChangeEvent(1, ChangeEventType.Created, "/x/y"), new ChangeEvent(1, ChangeEventType.Created, "/")]);

        Assert.Empty(Drain(stream));
        Assert.Equal(1, hub.Fanout.DispatchedIndex);
    }

    [Fact]
    public void Dispatch_ChangeWithAnAlias_ReachesPrefixWatchesOnExactlyTheAlias_LiveAndOnCatchUp()
    {
        // As a node with --curator-base-path /dubbo maps a Curator instance onto its service.
        var hub = new WatchHub(streams: new WatchFanoutOptions { AliasOf = path => path.StartsWith("/dubbo/", StringComparison.Ordinal) ? "/services/catalog" : null });
        var service = hub.Fanout.Subscribe([new(WatchKind.Prefix, "/services/catalog")], "sidecar", 0);
        var all = hub.Fanout.Subscribe([new(WatchKind.Prefix, "/services")], "operator", 0);

        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/dubbo/catalog/i1")]);
        var late = hub.Fanout.Subscribe([new(WatchKind.Prefix, "/services/catalog")], "late", 0);

        var expected = new WatchStreamRecord(Contracts.ChangeEvent.Created, 1, "/dubbo/catalog/i1", ServicePath: "/services/catalog");
        Assert.Equal(expected, Parse(Assert.Single(Drain(service)).Line));
        Assert.Equal(expected, Parse(Assert.Single(Drain(late)).Line));
        Assert.Empty(Drain(all));
    }

    [Fact]
    public void Dispatch_ReaderFallsBehindItsBound_StreamIsCutAndHoldsNothing()
    {
        var hub = new WatchHub(streams: new WatchFanoutOptions { BufferRecords = 2 });
        var stream = hub.Fanout.Subscribe([new(WatchKind.Prefix, "/a")], "c", 0);

        for (var i = 1; i <= 5; i++)
            hub.Publish(i, [new ChangeEvent(i, ChangeEventType.DataChanged, "/a")]);

        Assert.Equal(3, stream.CutAt);
        Assert.Empty(Drain(stream));
        Assert.Equal(0, hub.Fanout.BufferedRecords);
    }

    [Fact]
    public void Dispatch_OneCommandLargerThanTheBound_IsQueuedWhole()
    {
        var hub = new WatchHub(streams: new WatchFanoutOptions { BufferRecords = 1 });
        var stream = hub.Fanout.Subscribe([new(WatchKind.Prefix, "/a")], "c", 0);

        hub.Publish(1, [.. Enumerable.Range(0, 5).Select(i => new ChangeEvent(1, ChangeEventType.Created, $"/a/{i}"))]);

        Assert.Equal(-1, stream.CutAt);
        Assert.Equal(5, Drain(stream).Count);
    }

    [Fact]
    public void Subscribe_AfterAnOlderIndex_GetsTheKeptHistoryFirst()
    {
        var hub = new WatchHub();
        for (var i = 1; i <= 4; i++)
            hub.Publish(i, [new ChangeEvent(i, ChangeEventType.DataChanged, i % 2 == 0 ? "/a" : "/b")]);

        var stream = hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "c", 1);
        hub.Publish(5, [new ChangeEvent(5, ChangeEventType.DataChanged, "/a")]);

        Assert.Equal([2L, 4L, 5L], Drain(stream).Select(r => r.Index));
        Assert.Equal(4, stream.StartIndex);
    }

    [Fact]
    public void Subscribe_AfterOlderThanHistory_ThrowsIndexCompacted()
    {
        var hub = new WatchHub(capacity: 2);
        for (var i = 1; i <= 4; i++)
            hub.Publish(i, [new ChangeEvent(i, ChangeEventType.DataChanged, "/a")]);

        Assert.Throws<IndexCompactedException>(() => hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "c", 1));
        // The refused stream does not count against its caller.
        Assert.Equal(0, hub.Fanout.Streams);
    }

    [Fact]
    public void Subscribe_OverTheCallersLimit_Throws_OtherCallersStillServed()
    {
        var hub = new WatchHub(streams: new WatchFanoutOptions { MaxStreamsPerCaller = 2 });
        var first = hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "c", 0);
        hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "c", 0);

        Assert.Throws<TooManyStreamsException>(() => hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "c", 0));
        hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "d", 0);
        hub.Fanout.Unsubscribe(first);
        hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "c", 0);
    }

    [Fact]
    public void Subscribe_OverTheCallersWatchLimit_Throws_AndAClosedStreamGivesItsWatchesBack()
    {
        var hub = new WatchHub(streams: new WatchFanoutOptions { MaxWatchesPerCaller = 5 });
        WatchTarget[] three = [new(WatchKind.Exact, "/a"), new(WatchKind.Prefix, "/b"), WatchTarget.Trust];
        var first = hub.Fanout.Subscribe(three, "c", 0);
        hub.Fanout.Subscribe([new(WatchKind.Exact, "/a"), new(WatchKind.Exact, "/b")], "c", 0);

        var refused = Assert.Throws<TooManyStreamsException>(() => hub.Fanout.Subscribe([new(WatchKind.Exact, "/c")], "c", 0));
        Assert.Contains("holds 5 watches", refused.Message);
        Assert.Contains("at most 5", refused.Message);
        hub.Fanout.Subscribe(three, "d", 0);
        hub.Fanout.Unsubscribe(first);
        hub.Fanout.Subscribe(three, "c", 0);
        Assert.Equal(3, hub.Fanout.Streams);
    }

    [Fact]
    public void Dispatch_CaChanges_HiddenFromPathWatches_TrustWatchersToldTheBundleChanged()
    {
        var hub = new WatchHub();
        var everything = hub.Fanout.Subscribe([new(WatchKind.Prefix, "/")], "c", 0);
        var trust = hub.Fanout.Subscribe([WatchTarget.Trust], "c", 0);

        hub.Publish(1, [
            new ChangeEvent(1, ChangeEventType.Created, RegistryCertificateAuthority.MaterialPath),
            new ChangeEvent(1, ChangeEventType.ChildrenChanged, RegistryCertificateAuthority.CaRoot),
            new ChangeEvent(1, ChangeEventType.ChildrenChanged, "/mesh")]);

        Assert.Equal(["/mesh"], Drain(everything).Select(r => Parse(r.Line).Path));
        Assert.Equal(new WatchStreamRecord(WatchStreamRecord.TrustBundle, 1), Parse(Assert.Single(Drain(trust)).Line));
    }

    [Fact]
    public void Reset_EndsEveryStream()
    {
        var hub = new WatchHub();
        var stream = hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "c", 0);

        hub.Reset(10);

        Assert.Contains("snapshot at index 10", stream.EndReason);
        Assert.False(stream.Park(new CountingWriter(stream)));
    }

    [Fact]
    public void ProgressTick_WakesEveryParkedWriterOnce_InOnePass_AndCountsTheTick()
    {
        var time = new FakeTimeProvider();
        var hub = new WatchHub(streams: Inline(new WatchFanoutOptions { TimeProvider = time, ProgressInterval = TimeSpan.FromSeconds(5) }));
        var writers = Enumerable.Range(0, 3).Select(i => new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "c" + i, 0))).ToList();
        Assert.All(writers, w => Assert.True(w.Stream.Park(w)));

        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(1, hub.Fanout.Ticks);
        Assert.All(writers, w => Assert.Equal(1, w.Runs));
        Assert.Equal(1, hub.Fanout.Pump.Passes);
        // The wake is taken once: parked again, a writer waits for the next record, end or tick.
        Assert.All(writers, w => Assert.True(w.Stream.Park(w)));
    }

    [Fact]
    public void ProgressTick_StreamsWhoseLastMarkIsAtTheIndex_AreNotWoken_TheOthersAre()
    {
        var time = new FakeTimeProvider();
        var hub = new WatchHub(streams: Inline(new WatchFanoutOptions { TimeProvider = time, ProgressInterval = TimeSpan.FromSeconds(5) }));
        var current = new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "current", 0));
        var behind = new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Exact, "/a")], "behind", 0));
        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/elsewhere")]);
        current.Stream.ReportedIndex = 1;
        behind.Stream.ReportedIndex = 0;
        Assert.True(current.Stream.Park(current));
        Assert.True(behind.Stream.Park(behind));

        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(1, hub.Fanout.Ticks);
        Assert.Equal(1, behind.Runs);
        Assert.Equal(0, current.Runs);
    }

    [Fact]
    public void Dispatch_ChangeForManyParkedWriters_RunsEachOnceInOnePass_WithAllOfTheChangesRecords()
    {
        var hub = new WatchHub(streams: Inline(new WatchFanoutOptions()));
        var writers = Enumerable.Range(0, 100).Select(i => new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Prefix, "/a")], "c" + i, 0))).ToList();
        Assert.All(writers, w => Assert.True(w.Stream.Park(w)));

        // One command, two events: each writer is run once, after both are queued to every stream.
        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/a/b"), new ChangeEvent(1, ChangeEventType.ChildrenChanged, "/a")]);

        Assert.All(writers, w => Assert.Equal(1, w.Runs));
        Assert.All(writers, w => Assert.Equal([2], w.RecordsPerRun));
        Assert.Equal(1, hub.Fanout.Pump.Passes);
        Assert.Equal(100, hub.Fanout.Pump.Runs);
    }

    [Fact]
    public void Dispatch_StreamsNotReached_TheirParkedWritersAreNotRun()
    {
        var hub = new WatchHub(streams: Inline(new WatchFanoutOptions()));
        var reached = new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Prefix, "/a")], "a", 0));
        var other = new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Prefix, "/b")], "b", 0));
        Assert.True(reached.Stream.Park(reached));
        Assert.True(other.Stream.Park(other));

        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/a/x")]);

        Assert.Equal(1, reached.Runs);
        Assert.Equal(0, other.Runs);
    }

    [Fact]
    public void Park_WithARecordQueuedOrAWakePending_Refuses_SoTheWriterGoesOnWriting()
    {
        var hub = new WatchHub(streams: Inline(new WatchFanoutOptions()));
        var queued = new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Prefix, "/a")], "q", 0));
        var woken = new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Prefix, "/b")], "w", 0));

        hub.Publish(1, [new ChangeEvent(1, ChangeEventType.Created, "/a/x")]);
        woken.Stream.Wake();

        Assert.False(queued.Stream.Park(queued));
        Assert.False(woken.Stream.Park(woken));
        // The wake was taken by the refused park: the next park waits.
        Assert.True(woken.Stream.Park(woken));
        Assert.Equal(0, queued.Runs + woken.Runs);
    }

    [Fact]
    public void Reset_ParkedWriters_AreRunToEndTheirStreams()
    {
        var hub = new WatchHub(streams: Inline(new WatchFanoutOptions()));
        var writers = Enumerable.Range(0, 3).Select(i => new CountingWriter(hub.Fanout.Subscribe([new(WatchKind.Prefix, "/a")], "c" + i, 0))).ToList();
        Assert.All(writers, w => Assert.True(w.Stream.Park(w)));

        hub.Reset(10);

        Assert.All(writers, w => Assert.Equal(1, w.Runs));
        Assert.All(writers, w => Assert.NotNull(w.Stream.EndReason));
    }

    /// <summary>Runs the writers' pump on the thread that makes them ready, so a test sees its runs at once.</summary>
    private static WatchFanoutOptions Inline(WatchFanoutOptions options) => options with { SchedulePump = static pump => pump.Run() };

    /// <summary>A parked writer that counts its runs and the records it found, and parks again like the real one.</summary>
    private sealed class CountingWriter(WatchStream stream) : IParkedWriter
    {
        public WatchStream Stream => stream;

        public int Runs { get; private set; }

        public List<int> RecordsPerRun { get; } = [];

        public void RunParked()
        {
            Runs++;
            RecordsPerRun.Add(Drain(stream).Count);
            stream.Park(this);
        }
    }

    private static List<(long Index, byte[] Line)> Drain(WatchStream stream)
    {
        var lines = new List<(long, byte[])>();
        stream.Drain(lines);
        return lines;
    }

    private static WatchStreamRecord Parse(byte[] line)
    {
        Assert.Equal((byte)'\n', line[^1]);
        return JsonSerializer.Deserialize(Encoding.UTF8.GetString(line), RegistryJson.Default.WatchStreamRecord)!;
    }
}
