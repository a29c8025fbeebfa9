using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Registry.ZooKeeper.Sessions;

namespace Mesh.Registry.ZooKeeper.Tests.Sessions;

public sealed class ZkSessionTests
{
    private readonly ZkHarness _zk = new();

    private static CreateRequest Create(string path, string data = "", ZkCreateFlags flags = ZkCreateFlags.Persistent) =>
        new(path, System.Text.Encoding.UTF8.GetBytes(data), Acl.OpenUnsafe, (int)flags);

    [Fact]
    public void Create2_Persistent_ReturnsTheStatZooKeeperFillsIn()
    {
        var s = _zk.Open();
        _zk.TimeMs = 1_700_000_123_456;
        var (_, reply) = _zk.Send(s, OpCode.Create2, Create("/app", "hello"));

        Assert.Equal(ZkError.Ok, reply.Error);
        var created = ZkHarness.Body<Create2Response>(reply);
        var zxid = _zk.Index;
        Assert.Equal("/app", created.Path);
        Assert.Equal(new Stat(zxid, zxid, 1_700_000_123_456, 1_700_000_123_456, 0, 0, 0, 0, 5, 0, zxid), created.Stat);
        Assert.Equal(zxid, reply.Zxid);
    }

    [Fact]
    public void Create_Sequential_AppendsTenDigitsCountingTheParentsChildCreations()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/q"));
        _zk.Send(s, OpCode.Create, Create("/q/other"));
        var (_, reply) = _zk.Send(s, OpCode.Create, Create("/q/item-", flags: ZkCreateFlags.EphemeralSequential));

        Assert.Equal("/q/item-0000000001", ZkHarness.Body<PathResponse>(reply).Path);
        var (_, stat) = _zk.Send(s, OpCode.Exists, new PathWatchRequest("/q/item-0000000001", false));
        Assert.Equal(s.SessionId, ZkHarness.Body<StatResponse>(stat).Stat.EphemeralOwner);
    }

    [Fact]
    public void SetData_ThenGetData_BumpsVersionAndMzxidButNotCzxid()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/a", "1"));
        var czxid = _zk.Index;
        var (_, set) = _zk.Send(s, OpCode.SetData, new SetDataRequest("/a", [1, 2, 3], 0));
        var stat = ZkHarness.Body<StatResponse>(set).Stat;
        Assert.Equal((czxid, _zk.Index, 1, 3), (stat.Czxid, stat.Mzxid, stat.Version, stat.DataLength));

        var (_, bad) = _zk.Send(s, OpCode.SetData, new SetDataRequest("/a", [], 0));
        Assert.Equal(ZkError.BadVersion, bad.Error);
        var (_, get) = _zk.Send(s, OpCode.GetData, new PathWatchRequest("/a", false));
        Assert.Equal([1, 2, 3], ZkHarness.Body<GetDataResponse>(get).Data);
    }

    [Fact]
    public void Errors_AreZooKeepersCodes()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/a"));
        _zk.Send(s, OpCode.Create, Create("/a/b"));
        _zk.Send(s, OpCode.Create, Create("/e", flags: ZkCreateFlags.Ephemeral));

        Assert.Equal(ZkError.NodeExists, _zk.Send(s, OpCode.Create, Create("/a")).Reply.Error);
        Assert.Equal(ZkError.NoNode, _zk.Send(s, OpCode.Create, Create("/x/y")).Reply.Error);
        Assert.Equal(ZkError.NoNode, _zk.Send(s, OpCode.GetData, new PathWatchRequest("/nope", false)).Reply.Error);
        Assert.Equal(ZkError.NotEmpty, _zk.Send(s, OpCode.Delete, new DeleteRequest("/a", -1)).Reply.Error);
        Assert.Equal(ZkError.BadVersion, _zk.Send(s, OpCode.Delete, new DeleteRequest("/a/b", 3)).Reply.Error);
        Assert.Equal(ZkError.NoChildrenForEphemerals, _zk.Send(s, OpCode.Create, Create("/e/child")).Reply.Error);
        Assert.Equal(ZkError.BadArguments, _zk.Send(s, OpCode.Create, Create("no-slash")).Reply.Error);
        Assert.Equal(ZkError.BadArguments, _zk.Send(s, OpCode.Delete, new DeleteRequest("/", -1)).Reply.Error);
        Assert.Equal(ZkError.InvalidAcl, _zk.Send(s, OpCode.Create, new CreateRequest("/acl", [], [], 0)).Reply.Error);
        Assert.Equal(ZkError.Ok, _zk.Send(s, OpCode.Delete, new DeleteRequest("/a/b", 0)).Reply.Error);
    }

    [Fact]
    public void UnsupportedOps_AnswerUnimplemented()
    {
        var s = _zk.Open();
        Assert.Equal(ZkError.Unimplemented, _zk.Send(s, OpCode.CreateTtl, new CreateTtlRequest("/t", [], Acl.OpenUnsafe, 5, 1000)).Reply.Error);
        var reconfig = new JuteWriter().Int(99).Int((int)OpCode.Reconfig).String("x").String(null).String(null).Long(-1).ToRecord();
        var (_, reply) = _zk.Run(s, ZkRequest.Decode(reconfig));
        Assert.Equal((99, ZkError.Unimplemented), (reply.Xid, reply.Error));
        var unknown = new JuteWriter().Int(100).Int(4242).ToRecord();
        Assert.Equal(ZkError.Unimplemented, _zk.Run(s, ZkRequest.Decode(unknown)).Reply.Error);
    }

    [Fact]
    public void Ping_IsAnsweredWithThePingXid()
    {
        var s = _zk.Open();
        var (_, reply) = _zk.Send(s, OpCode.Ping, null);
        Assert.Equal((Xids.Ping, ZkError.Ok), (reply.Xid, reply.Error));
    }

    [Fact]
    public void DataWatch_FiresOnce_BeforeTheReplyThatReflectsTheChange()
    {
        var watcher = _zk.Open();
        var writer = _zk.Open();
        _zk.Send(writer, OpCode.Create, Create("/w", "1"));
        _zk.Send(watcher, OpCode.GetData, new PathWatchRequest("/w", true));

        _zk.Send(writer, OpCode.SetData, new SetDataRequest("/w", [2], -1));
        var changed = _zk.Index;
        // The watcher's next answer (reading the new data) is preceded by the notification.
        var (notifications, reply) = _zk.Send(watcher, OpCode.GetData, new PathWatchRequest("/w", false));
        var note = Assert.Single(notifications);
        Assert.Equal((Xids.Notification, changed), (note.Xid, note.Zxid));
        Assert.Equal(new WatcherEvent((int)WatcherEventType.NodeDataChanged, (int)KeeperState.SyncConnected, "/w"), ZkHarness.Body<WatcherEvent>(note));
        Assert.Equal([2], ZkHarness.Body<GetDataResponse>(reply).Data);

        _zk.Send(writer, OpCode.SetData, new SetDataRequest("/w", [3], -1));
        Assert.Empty(_zk.Send(watcher, OpCode.Ping, null).Notifications);
    }

    [Fact]
    public void ExistsWatch_OnAMissingNode_FiresNodeCreated_AndChildWatchFiresOnTheParent()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/p"));
        Assert.Equal(ZkError.NoNode, _zk.Send(s, OpCode.Exists, new PathWatchRequest("/p/c", true)).Reply.Error);
        _zk.Send(s, OpCode.GetChildren, new PathWatchRequest("/p", true));

        var (notifications, _) = _zk.Send(s, OpCode.Create, Create("/p/c"));
        Assert.Equal(
            [(WatcherEventType.NodeCreated, "/p/c"), (WatcherEventType.NodeChildrenChanged, "/p")],
            notifications.Select(n => ((WatcherEventType)ZkHarness.Body<WatcherEvent>(n).Type, ZkHarness.Body<WatcherEvent>(n).Path)));
    }

    [Fact]
    public void Delete_OfANodeWithDataAndChildWatches_SendsOneNodeDeleted()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/d"));
        _zk.Send(s, OpCode.GetData, new PathWatchRequest("/d", true));
        _zk.Send(s, OpCode.GetChildren2, new PathWatchRequest("/d", true));

        var (notifications, _) = _zk.Send(s, OpCode.Delete, new DeleteRequest("/d", -1));
        var note = ZkHarness.Body<WatcherEvent>(Assert.Single(notifications));
        Assert.Equal(((int)WatcherEventType.NodeDeleted, "/d"), (note.Type, note.Path));
        Assert.Equal(0, s.Watches.Count);
    }

    [Fact]
    public void PersistentRecursiveWatch_FiresForEveryChangeBelow_AndStaysUntilRemoved()
    {
        var s = _zk.Open();
        Assert.Equal(ZkError.Ok, _zk.Send(s, OpCode.AddWatch, new AddWatchRequest("/r", (int)AddWatchMode.PersistentRecursive)).Reply.Error);
        Assert.Equal(WatcherEventType.NodeCreated, Type(Assert.Single(_zk.Send(s, OpCode.Create, Create("/r")).Notifications)));
        Assert.Equal(WatcherEventType.NodeCreated, Type(Assert.Single(_zk.Send(s, OpCode.Create, Create("/r/a")).Notifications)));
        Assert.Equal(WatcherEventType.NodeDataChanged, Type(Assert.Single(_zk.Send(s, OpCode.SetData, new SetDataRequest("/r/a", [1], -1)).Notifications)));

        Assert.Equal(ZkError.Ok, _zk.Send(s, OpCode.RemoveWatches, new RemoveWatchesRequest("/r", (int)WatcherType.Any)).Reply.Error);
        Assert.Empty(_zk.Send(s, OpCode.Delete, new DeleteRequest("/r/a", -1)).Notifications);
        Assert.Equal(ZkError.NoWatcher, _zk.Send(s, OpCode.RemoveWatches, new RemoveWatchesRequest("/r", (int)WatcherType.Any)).Reply.Error);
    }

    [Fact]
    public void ReadOnlySession_ServesReads_AndAnswersEveryWriteAndSyncNotReadOnly()
    {
        var writer = _zk.Open();
        _zk.Send(writer, OpCode.Create, Create("/app", "v1"));
        _zk.Send(writer, OpCode.Create, Create("/app/child"));
        var s = new ZkSession(ZkConnect.LocalReadOnlySessionId(42), 10_000, ZkAccess.Open) { ReadOnly = true };

        var (_, children) = _zk.Send(s, OpCode.GetChildren, new PathWatchRequest("/app", true));
        var (_, data) = _zk.Send(s, OpCode.GetData, new PathWatchRequest("/app", false));
        Assert.Equal(["child"], ZkHarness.Body<StringListResponse>(children).Items);
        Assert.Equal("v1"u8.ToArray(), ZkHarness.Body<GetDataResponse>(data).Data);
        Assert.Equal(ZkError.Ok, _zk.Send(s, OpCode.Ping, null).Reply.Error);

        var index = _zk.Index;
        Assert.Equal(ZkError.NotReadOnly, _zk.Send(s, OpCode.Create, Create("/fred")).Reply.Error);
        Assert.Equal(ZkError.NotReadOnly, _zk.Send(s, OpCode.Create2, Create("/fred")).Reply.Error);
        Assert.Equal(ZkError.NotReadOnly, _zk.Send(s, OpCode.SetData, new SetDataRequest("/app", [1], -1)).Reply.Error);
        Assert.Equal(ZkError.NotReadOnly, _zk.Send(s, OpCode.Delete, new DeleteRequest("/app", -1)).Reply.Error);
        Assert.Equal(ZkError.NotReadOnly, _zk.Send(s, OpCode.Sync, new PathRequest("/app")).Reply.Error);
        Assert.Equal(ZkError.NotReadOnly, _zk.Send(s, OpCode.Multi, new MultiBody([new MultiOp(OpCode.Create, Create("/m"))])).Reply.Error);
        Assert.Equal(index, _zk.Index);
        Assert.Equal(ZkError.NoNode, _zk.Send(writer, OpCode.Exists, new PathWatchRequest("/fred", false)).Reply.Error);
    }

    [Fact]
    public void Multi_AllSucceed_ReturnsEachOpsResult_AndOneFailure_RollsBackWithZooKeepersCodes()
    {
        var s = _zk.Open();
        var (_, ok) = _zk.Send(s, OpCode.Multi, new MultiBody([
            new MultiOp(OpCode.Create, Create("/m")),
            new MultiOp(OpCode.Create2, Create("/m/s-", flags: ZkCreateFlags.PersistentSequential)),
            new MultiOp(OpCode.SetData, new SetDataRequest("/m", [7], 0)),
            new MultiOp(OpCode.Check, new CheckVersionRequest("/m", 1)),
        ]));
        var results = ZkHarness.MultiResults(ok);
        Assert.Equal([1, 15, 5, 13], results.Select(r => r.Type));
        Assert.Equal("/m", ((PathResponse)results[0].Response!).Path);
        Assert.Equal("/m/s-0000000000", ((Create2Response)results[1].Response!).Path);
        Assert.Equal(1, ((StatResponse)results[2].Response!).Stat.Version);

        var (_, failed) = _zk.Send(s, OpCode.Multi, new MultiBody([
            new MultiOp(OpCode.Create, Create("/n")),
            new MultiOp(OpCode.Delete, new DeleteRequest("/missing", -1)),
            new MultiOp(OpCode.SetData, new SetDataRequest("/m", [], -1)),
        ]));
        Assert.Equal(ZkError.Ok, failed.Error);
        Assert.Equal([0, (int)ZkError.NoNode, (int)ZkError.RuntimeInconsistency], ZkHarness.MultiResults(failed).Select(r => r.Err));
        Assert.Equal(ZkError.NoNode, _zk.Send(s, OpCode.Exists, new PathWatchRequest("/n", false)).Reply.Error);
    }

    [Fact]
    public void GuardedWrite_RunsTheAccessGuardsInTheSameTransaction_AndAnswersWithTheOpsOwnResults()
    {
        // An access that creates /owner before every write, as a join token's ownership claim does.
        var guarded = ZkAccess.Custom(_ => null, _ => null, _ => new ZkWritePlan([new Core.Commands.CreateOp("/owner", default)], null));
        var s = _zk.Open(access: guarded);
        var open = _zk.Open();

        var (_, created) = _zk.Send(s, OpCode.Create2, Create("/a", "x"));
        Assert.Equal(("/a", 1), (ZkHarness.Body<Create2Response>(created).Path, ZkHarness.Body<Create2Response>(created).Stat.DataLength));
        Assert.True(_zk.State.Exists("/owner").IsOk);

        // The guard fails now (/owner exists, as when ownership changed meanwhile): NoAuth, nothing changed.
        var (_, refused) = _zk.Send(s, OpCode.Create, Create("/b"));
        Assert.Equal(ZkError.NoAuth, refused.Error);
        Assert.False(_zk.State.Exists("/b").IsOk);
        var (_, refusedMulti) = _zk.Send(s, OpCode.Multi, new MultiBody([new MultiOp(OpCode.Create, Create("/b")), new MultiOp(OpCode.Create, Create("/c"))]));
        Assert.Equal([(int)ZkError.NoAuth, (int)ZkError.RuntimeInconsistency], ZkHarness.MultiResults(refusedMulti).Select(r => r.Err));

        // A multi's results and failures are numbered without the guard.
        _zk.Send(open, OpCode.Delete, new DeleteRequest("/owner", -1));
        var (_, ok) = _zk.Send(s, OpCode.Multi, new MultiBody([new MultiOp(OpCode.Create, Create("/m")), new MultiOp(OpCode.SetData, new SetDataRequest("/m", [7], 0))]));
        Assert.Equal([1, 5], ZkHarness.MultiResults(ok).Select(r => r.Type));
        _zk.Send(open, OpCode.Delete, new DeleteRequest("/owner", -1));
        var (_, failed) = _zk.Send(s, OpCode.Multi, new MultiBody([new MultiOp(OpCode.Create, Create("/n")), new MultiOp(OpCode.Delete, new DeleteRequest("/missing", -1))]));
        Assert.Equal([0, (int)ZkError.NoNode], ZkHarness.MultiResults(failed).Select(r => r.Err));
    }

    [Fact]
    public void RefusedWritePlan_AnswersItsError_AndProposesNothing()
    {
        var refusing = ZkAccess.Custom(_ => null, _ => null, _ => ZkWritePlan.Refuse(ZkError.NoAuth));
        var s = _zk.Open(access: refusing);
        var index = _zk.Index;

        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.Create, Create("/a")).Reply.Error);
        Assert.Equal(index, _zk.Index);
    }

    [Fact]
    public void CaPath_IsNeverServed_EvenInOpenMode()
    {
        var s = _zk.Open();
        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.GetData, new PathWatchRequest("/mesh/ca/material", false)).Reply.Error);
        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.Create, Create("/mesh/ca")).Reply.Error);
        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.GetChildren, new PathWatchRequest("/mesh/ca", false)).Reply.Error);
    }

    [Fact]
    public void NoAccess_RefusesReadsAndWritesWithNoAuth()
    {
        var s = _zk.Open(access: ZkAccess.None);
        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.GetChildren, new PathWatchRequest("/", false)).Reply.Error);
        Assert.Equal(ZkError.NoAuth, _zk.Send(s, OpCode.Create, Create("/a")).Reply.Error);
    }

    [Fact]
    public void SetWatches_AfterAReconnect_FiresWhatChangedSinceTheLastZxidSeen()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/changed"));
        _zk.Send(s, OpCode.Create, Create("/same"));
        _zk.Send(s, OpCode.Create, Create("/gone"));
        var seen = _zk.Index;
        _zk.Send(s, OpCode.SetData, new SetDataRequest("/changed", [1], -1));
        _zk.Send(s, OpCode.Delete, new DeleteRequest("/gone", -1));
        _zk.Send(s, OpCode.Create, Create("/born"));

        var moved = _zk.Open();
        var (notifications, reply) = _zk.SetWatches(moved, new SetWatchesRequest(seen, ["/changed", "/same", "/gone"], ["/born", "/unborn"], [], [], []));
        Assert.Equal(ZkError.Ok, reply.Error);
        Assert.Equal(
            [(WatcherEventType.NodeDataChanged, "/changed"), (WatcherEventType.NodeDeleted, "/gone"), (WatcherEventType.NodeCreated, "/born")],
            notifications.Select(n => (Type(n), ZkHarness.Body<WatcherEvent>(n).Path)));
        Assert.True(moved.Watches.Has("/same", WatcherType.Data));
        Assert.True(moved.Watches.Has("/unborn", WatcherType.Data));
    }

    [Fact]
    public void GetEphemeralsAndAllChildrenNumber_CountWhatTheSessionAndSubtreeHold()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/e"));
        _zk.Send(s, OpCode.Create, Create("/e/1", flags: ZkCreateFlags.Ephemeral));
        _zk.Send(s, OpCode.Create, Create("/e/2"));
        _zk.Send(s, OpCode.Create, Create("/e/2/x"));

        Assert.Equal(["/e/1"], ZkHarness.Body<StringListResponse>(_zk.Send(s, OpCode.GetEphemerals, new PathRequest("/e")).Reply).Items);
        Assert.Equal(3, ZkHarness.Body<IntResponse>(_zk.Send(s, OpCode.GetAllChildrenNumber, new PathRequest("/e")).Reply).Value);
    }

    [Fact]
    public void GetAllChildrenNumber_OnABigTree_IsCountedInSlicesWithWritesAppliedBetweenThem()
    {
        var s = _zk.Open();
        _zk.Send(s, OpCode.Create, Create("/big"));
        _zk.Send(s, OpCode.Create, Create("/other"));
        for (var i = 0; i < 10; i++)
        {
            _zk.Send(s, OpCode.Create, Create($"/big/{i}"));
            for (var j = 0; j < 2_000; j++)
                _zk.Send(s, OpCode.Create, Create($"/big/{i}/{j}"));
        }
        var writesBetween = 0;
        _zk.BetweenSlices = () => _zk.Send(s, OpCode.Create, Create($"/other/{writesBetween++}"));

        var count = _zk.Send(s, OpCode.GetAllChildrenNumber, new PathRequest("/big")).Reply;

        Assert.Equal(10 + 10 * 2_000, ZkHarness.Body<IntResponse>(count).Value);
        Assert.InRange(writesBetween, 3, int.MaxValue);
        Assert.Equal(_zk.Index, count.Zxid);
    }

    [Fact]
    public void TryAuthenticate_ASecondDifferentToken_IsRefusedAndTakesNothing_WhilePlainDigestIdentitiesAddUp()
    {
        var s = _zk.Open(access: ZkAccess.None);
        var shop = ZkAccess.Custom(_ => null, _ => null);
        Assert.True(s.TryAuthenticate(new(shop, new ClientInfo("digest", "app"), new("digest", "app:a"), Token: "shop")));
        Assert.True(s.TryAuthenticate(new(shop, new ClientInfo("digest", "app"), new("digest", "app:a"), Token: "shop")));
        Assert.True(s.TryAuthenticate(new(shop, new ClientInfo("digest", "alice"), new("digest", "alice:b"))));

        Assert.False(s.TryAuthenticate(new(ZkAccess.Open, new ClientInfo("digest", "ops"), new("digest", "ops:c"), Token: "admin")));

        Assert.Same(shop, s.Access);
        Assert.Equal([new ClientInfo("digest", "app"), new ClientInfo("digest", "alice")], s.Identities);
    }

    private static WatcherEventType Type(ZkReply notification) => (WatcherEventType)ZkHarness.Body<WatcherEvent>(notification).Type;
}
