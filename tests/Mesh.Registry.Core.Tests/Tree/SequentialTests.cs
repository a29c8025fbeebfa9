using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Tree;

public sealed class SequentialTests
{
    [Fact]
    public void Create_Sequential_AppendsTenDigitParentChildCounter()
    {
        var r = new Registry();
        r.Create("/locks");
        Assert.Equal("/locks/lock-0000000000", r.Create("/locks/lock-", mode: CreateMode.Sequential).Path);
        r.Create("/locks/other");
        Assert.Equal("/locks/lock-0000000002", r.Create("/locks/lock-", mode: CreateMode.Sequential).Path);
    }

    [Fact]
    public void Create_SequentialAfterDeletions_NumbersByCreationsAndNeverReusesASuffix()
    {
        var r = new Registry();
        r.Create("/q");
        var names = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var path = r.Create("/q/n", mode: CreateMode.Sequential).Path!;
            names.Add(path);
            r.Delete(path);
        }

        // As ZooKeeper: the suffix counts creations; cversion (10 here) counts deletions too.
        Assert.Equal(["/q/n0000000000", "/q/n0000000001", "/q/n0000000002", "/q/n0000000003", "/q/n0000000004"], names);
        Assert.Equal(10, r.Machine.Exists("/q").Stat.ChildVersion);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Fact]
    public void Create_EphemeralSequential_IsOwnedAndNumbered()
    {
        var r = new Registry();
        var session = r.OpenSession();
        var result = r.Create("/m-", mode: CreateMode.EphemeralSequential, session: session);

        Assert.Equal("/m-0000000000", result.Path);
        Assert.Equal(session, result.Stat.EphemeralOwner);
    }

    [Fact]
    public void Create_SequentialWithMissingParents_StartsTheNewParentAtZero()
    {
        var r = new Registry();
        Assert.Equal("/a/b/x0000000000", r.Create("/a/b/x", mode: CreateMode.Sequential, parents: true).Path);
    }

    [Fact]
    public void Create_SequentialAfterAnotherChildIsDeleted_NumbersAsZooKeeper()
    {
        // Measured against ZooKeeper 3.8: i-0, i-1, plain, delete i-0, then i-3 (cversion is 4).
        var r = new Registry();
        r.Create("/s");
        r.Create("/s/i-", mode: CreateMode.Sequential);
        r.Create("/s/i-", mode: CreateMode.Sequential);
        r.Create("/s/plain");
        r.Delete("/s/i-0000000000");

        Assert.Equal("/s/i-0000000003", r.Create("/s/i-", mode: CreateMode.Sequential).Path);
    }

    [Fact]
    public void Create_SequentialPathEndingInSlash_IsNamedBySuffixAlone()
    {
        var r = new Registry();
        r.Create("/queue");
        r.Create("/queue/x");

        Assert.Equal("/queue/0000000001", r.Create("/queue/", mode: CreateMode.Sequential).Path);
        Assert.Equal(ErrorCode.InvalidPath, r.Create("/queue/", mode: CreateMode.Persistent).Error);
        Assert.Equal(ErrorCode.InvalidPath, r.Create("//", mode: CreateMode.Sequential).Error);
    }
}
