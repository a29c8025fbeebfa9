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
    public void Create_SequentialAfterDeletions_NeverReusesASuffix()
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

        Assert.Equal(["/q/n0000000000", "/q/n0000000002", "/q/n0000000004", "/q/n0000000006", "/q/n0000000008"], names);
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
}
