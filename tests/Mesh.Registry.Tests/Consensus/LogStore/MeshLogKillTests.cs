using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Mesh.Registry.Tests.Consensus.LogStore;

/// <summary>
/// Three <c>mesh registry --raft-log mesh</c> processes killed with SIGKILL: what a node answered
/// is on its disk, whatever the kernel does to the process.
/// </summary>
public sealed partial class MeshLogKillTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mesh-wal-kill-" + Guid.NewGuid().ToString("N"));
    private readonly MeshProcess?[] _nodes = new MeshProcess?[3];
    private readonly IPEndPoint[] _raft = new IPEndPoint[3];
    private readonly Uri[] _clients = new Uri[3];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task AcknowledgedBatch_LeaderKilledThenEveryNodeRestarted_IsAllThere()
    {
        var sockets = Enumerable.Range(0, 3).Select(_ => Bind(new IPEndPoint(IPAddress.Loopback, 0))).ToArray();
        for (var i = 0; i < 3; i++)
            _raft[i] = (IPEndPoint)sockets[i].LocalEndPoint!;
        for (var i = 0; i < 3; i++)
            await StartAsync(i, sockets[i]);
        await WaitForLeaderAsync();

        // 32 writes in flight through every node (followers forward): the group commit's shape.
        var acknowledged = new ConcurrentBag<string>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async worker =>
        {
            for (int n; (n = Interlocked.Increment(ref next)) < 400;)
            {
                var key = $"k{n}";
                using var response = await _http.PostAsync(new Uri(_clients[worker % 3], $"/v1/nodes/batch/{key}?parents=true"), new StringContent(key));
                if (response.StatusCode == HttpStatusCode.Created)
                    acknowledged.Add(key);
            }
        }));
        Assert.True(acknowledged.Count >= 390, $"only {acknowledged.Count} of 400 writes were acknowledged");

        var leader = await WaitForLeaderAsync();
        await _nodes[leader]!.KillAsync();
        foreach (var other in Enumerable.Range(0, 3).Where(i => i != leader))
            await _nodes[other]!.KillAsync();

        for (var i = 0; i < 3; i++)
            await StartAsync(i, Bind(_raft[i]));
        await WaitForLeaderAsync();
        for (var i = 0; i < 3; i++)
        {
            var node = i;
            await Eventually.TrueAsync(async () =>
            {
                foreach (var key in acknowledged)
                {
                    using var response = await _http.GetAsync(new Uri(_clients[node], $"/v1/nodes/batch/{key}?raw=true&stale=true"));
                    if (response.StatusCode != HttpStatusCode.OK || await response.Content.ReadAsStringAsync() != key)
                        return false;
                }
                return true;
            }, $"node {node + 1} has every acknowledged write after the restart", TimeSpan.FromSeconds(30));
        }
    }

    private static Socket Bind(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(endPoint);
        socket.Listen();
        return socket;
    }

    private async Task StartAsync(int i, Socket raft)
    {
        var peers = string.Join(',', _raft.Select((r, k) => $"{k + 1}={r}"));
        _nodes[i] = MeshProcess.StartInheriting(raft, "registry", "--id", (i + 1).ToString(CultureInfo.InvariantCulture), "--peers", peers,
            "--listen-peer", $"fd:{raft.Handle}", "--data", Path.Combine(_root, $"n{i + 1}"), "--client", "127.0.0.1:0", "--raft-log", "mesh");
        raft.Dispose(); // the node holds it now
        _clients[i] = new Uri((await _nodes[i]!.WaitForMatchAsync(ServingLine(), TimeSpan.FromSeconds(60))).Groups[1].Value);
    }

    /// <summary>The index of the node every live node names as leader.</summary>
    private Task<int> WaitForLeaderAsync() => Eventually.ValueAsync(async () =>
    {
        int? leader = null;
        for (var i = 0; i < 3; i++)
        {
            try
            {
                using var status = JsonDocument.Parse(await _http.GetStringAsync(new Uri(_clients[i], "/v1/status")));
                if (status.RootElement.GetProperty("leader").ValueKind != JsonValueKind.Number)
                    return null;
                var id = status.RootElement.GetProperty("leader").GetInt32() - 1;
                if (leader is not null && leader != id)
                    return null;
                leader = id;
            }
            catch (HttpRequestException)
            {
                return null;
            }
        }
        return leader;
    }, "the nodes agree on a leader", TimeSpan.FromSeconds(60));

    [GeneratedRegex(@"serving clients on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex ServingLine();

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime, not IAsyncDisposable: xunit 2 disposes test classes only through this, and the restarted nodes must not outlive the test.
    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node is not null)
                await node.DisposeAsync();
        }
        _http.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
