using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.Registry.Tests.ZooKeeper;

/// <summary>
/// The leader of three <c>mesh registry</c> processes is killed with SIGKILL while ZooKeeper
/// clients (kazoo) are connected to it: no goodbye to its clients or peers, a new election.
/// </summary>
public sealed class ZooKeeperProcessKillTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task LeaderKilled_SessionMovesWithEphemeralsAndWatches_SessionWhoseTimeoutPasses_IsExpired()
    {
        await KazooCluster.RequireAsync();
        await using var cluster = await ZkProcessCluster.StartAsync();
        var leader = await cluster.LeaderAsync();
        var others = Enumerable.Range(0, 3).Where(i => i != leader).ToArray();
        var hosts = string.Join(',', new[] { leader }.Concat(others).Select(i => cluster.ZooKeeper[i].ToString()));

        // One session may move to any node; the other knows only the leader and a way to another
        // node that stays shut until the first session's timeout has passed.
        await using var moving = KazooCluster.Start("move", hosts);
        await moving.WaitForLineAsync("ready");
        await using var later = FaultyTcpRelay.Start(cluster.ZooKeeper[others[0]]);
        later.Mode = RelayMode.DropNew;
        await using var stranded = KazooCluster.Start("expire", $"{cluster.ZooKeeper[leader]},{later.Endpoint}", "4");
        var session = long.Parse((await stranded.WaitForLineAsync("ready")).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

        await cluster.KillAsync(leader);

        await moving.SendLineAsync("go");
        var (code, text) = await moving.WaitExitAsync();
        output.WriteLine(text);
        Assert.True(code == 0, text + "\nsurviving nodes:\n" + string.Join("\n", others.Select(cluster.Output)));
        Assert.EndsWith("ok\n", text);

        // The new leader expires the stranded session once its timeout passes, and its ephemeral goes.
        await using (var observer = await ZkTestClient.ConnectAsync(cluster.ZooKeeper[others[1]]))
        {
            await Eventually.TrueAsync(async () =>
            {
                var (read, body, _) = await observer.CallAsync(OpCode.GetChildren, new PathWatchRequest("/", false));
                return read.Err == 0 && !ZkTestClient.Parse<StringListResponse>(body).Items.Contains($"x-{session}");
            }, "the stranded session's ephemeral goes when its session expires");
        }
        later.Mode = RelayMode.Pass;
        await stranded.SendLineAsync("go");
        (code, text) = await stranded.WaitExitAsync();
        output.WriteLine(text);
        Assert.True(code == 0, text);
        Assert.EndsWith("ok\n", text);
    }
}
