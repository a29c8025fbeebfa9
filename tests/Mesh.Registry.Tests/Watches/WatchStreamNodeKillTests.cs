using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Xunit.Abstractions;

namespace Mesh.Registry.Tests.Watches;

/// <summary>
/// Streaming watches outlive the node that serves them: a 3-node cluster of real <c>mesh registry</c>
/// processes, some hundreds of watchers (the client library's <see cref="RegistryClient.StreamWatchAsync"/>,
/// one client and connection each) all streaming from one node, writes before and after that node
/// is killed with SIGKILL. Every watcher must end up with exactly the committed changes: none
/// missed, none twice (issue 22; the bench runs the same at 10,000 watchers).
/// </summary>
public sealed partial class WatchStreamNodeKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Watchers = 300;
    private const int Writes = 60;
    private const int KillAfter = 20;
    private const string Parent = "/kill";

    private readonly string _data = Path.Combine(Path.GetTempPath(), "mesh-kill-streams-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly MeshProcess[] _nodes = new MeshProcess[3];
    private readonly Uri[] _urls = new Uri[3];

    public async Task InitializeAsync()
    {
        // Each node's Raft listener is bound here at port 0 and handed over as a descriptor, so
        // --peers names every port before any node starts; client ports are bound by the nodes at 0.
        var raft = Enumerable.Range(0, 3).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToArray();
        foreach (var socket in raft)
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Listen();
        }
        var peers = string.Join(',', raft.Select((r, i) => $"{i + 1}={r.LocalEndPoint}"));
        for (var i = 0; i < 3; i++)
        {
            var socket = raft[i];
            _nodes[i] = MeshProcess.Start(start => InheritingSocket.Start(start, socket),
                "registry", "--id", (i + 1).ToString(CultureInfo.InvariantCulture), "--peers", peers,
                "--data", Path.Combine(_data, $"n{i + 1}"), "--client", "127.0.0.1:0", "--listen-peer", $"fd:{socket.Handle}");
            socket.Dispose(); // the node holds it now
        }
        for (var i = 0; i < 3; i++)
        {
            var started = await _nodes[i].WaitForMatchAsync(StartLine(), TimeSpan.FromSeconds(60));
            _urls[i] = new Uri($"http://{started.Groups["client"].Value}/");
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.TrueAsync(async () =>
        {
            foreach (var url in _urls)
            {
                if ((await http.GetAsync(new Uri(url, "/readyz"))).StatusCode != HttpStatusCode.OK)
                    return false;
            }
            return true;
        }, "the 3-node registry was not ready", TimeSpan.FromSeconds(60));
    }

    [Fact(Timeout = 180_000)]
    public async Task StreamWatches_NodeServingThemKilled_ResumeOnTheOtherNodesWithNoChangeMissedOrRepeated()
    {
        var victim = await FollowerAsync();
        Uri[] others = [.. _urls.Where((_, i) => i != victim)];
        using var writer = new RegistryClient(new RegistryClientOptions { Endpoints = [.. others, _urls[victim]] });
        var start = (await writer.CreateAsync(Parent, [], createParents: true)).Index;
        // The victim streams from its own applied state: it must have the parent before the watchers start after it.
        using (var onVictim = new RegistryClient(new RegistryClientOptions { Endpoints = [_urls[victim]] }))
            await Eventually.TrueAsync(async () => await onVictim.TryGetAsync(Parent, stale: true) is not null, "the victim never applied the parent");

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var watchers = Enumerable.Range(0, Watchers).Select(_ => new Watcher(_urls[victim], others)).ToArray();
        var running = watchers.Select(w => Task.Run(() => w.RunAsync(start, stop.Token))).ToArray();
        try
        {
            await Eventually.TrueAsync(() => watchers.All(w => w.Connected), $"not all {Watchers} watchers got their stream's first record", TimeSpan.FromSeconds(60));

            var last = 0L;
            for (var k = 0; k < Writes; k++)
            {
                if (k == KillAfter)
                {
                    await _nodes[victim].KillAsync(); // SIGKILL: no resume record, the streams just break
                    output.WriteLine($"killed node {victim + 1} ({_urls[victim]}) after {k} writes; {Watchers} streams were on it");
                }
                last = (await writer.CreateAsync($"{Parent}/c{k:D3}", [], cancellationToken: stop.Token)).Index;
            }

            await Eventually.TrueAsync(() => watchers.All(w => w.Complete >= last),
                $"not every watcher reached index {last}", TimeSpan.FromSeconds(60));

            // What was committed, read back from the survivors: every child of the parent and the index that created it.
            var children = await writer.GetChildrenAsync(Parent);
            var committed = new List<(long Index, string Path)>();
            foreach (var name in children.Children)
            {
                var node = await writer.GetAsync($"{Parent}/{name}");
                committed.Add((node.Stat.CreatedIndex, $"{Parent}/{name}"));
            }
            committed.Sort();
            Assert.Equal(Writes, committed.Count);

            foreach (var w in watchers)
            {
                var created = w.Records.Where(r => r.Type == ChangeEvent.Created).Select(r => (r.Index, r.Path!)).ToList();
                Assert.Equal(committed, created); // in order, each once: nothing missed, nothing repeated
                var all = w.Records.Select(r => (r.Index, r.Type, r.Path)).ToList();
                Assert.Equal(all.Count, all.Distinct().Count());
            }
            // Every watcher started on the victim, and the writes after the kill reached them all: they came from the survivors.
            Assert.True(_nodes[victim].HasExited);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running);
            foreach (var w in watchers)
                w.Dispose();
        }
    }

    /// <summary>A node that is not the leader (its death leaves the writes' quorum alone; the watchers are what is tested).</summary>
    private async Task<int> FollowerAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        return await Eventually.ValueAsync(async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                var body = await http.GetStringAsync(new Uri(_urls[i], "/v1/status"));
                if (JsonSerializer.Deserialize(body, RegistryJson.Default.StatusResponse) is { Role: "follower" })
                    return (int?)i;
            }
            return null;
        }, "no node reported itself a follower");
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node is not null)
                await node.DisposeAsync();
        }
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"serving clients on https?://(?<client>[0-9.]+:[0-9]+)/?, peers on")]
    private static partial Regex StartLine();

    /// <summary>One simulated client: its own <see cref="RegistryClient"/> (the killed node first), one prefix watch on the parent.</summary>
    private sealed class Watcher(Uri first, Uri[] others) : IDisposable
    {
        private readonly RegistryClient _client = new(new RegistryClientOptions { Endpoints = [first, .. others] });
        private readonly ConcurrentQueue<WatchStreamRecord> _records = new();
        private long _complete = -1;
        private int _connected;

        public bool Connected => Volatile.Read(ref _connected) == 1;

        /// <summary>Every change up to here was delivered (a progress mark, or the record before a later index).</summary>
        public long Complete => Interlocked.Read(ref _complete);

        /// <summary>The changes, in the order delivered.</summary>
        public IReadOnlyList<WatchStreamRecord> Records => [.. _records];

        public async Task RunAsync(long after, CancellationToken stop)
        {
            try
            {
                await foreach (var record in _client.StreamWatchAsync([StreamWatch.Prefix(Parent)], after, stop))
                {
                    Volatile.Write(ref _connected, 1);
                    if (record.Type == WatchStreamRecord.Progress)
                        Interlocked.Exchange(ref _complete, Math.Max(Complete, record.Index));
                    else if (record.IsChange)
                    {
                        _records.Enqueue(record);
                        Interlocked.Exchange(ref _complete, Math.Max(Complete, record.Index - 1));
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }

        public void Dispose() => _client.Dispose();
    }
}
