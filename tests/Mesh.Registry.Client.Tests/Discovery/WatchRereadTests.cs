using System.Collections.Concurrent;
using System.Text;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Discovery;

/// <summary>
/// A watch whose stream could not resume (the node no longer keeps the changes since its index:
/// 410 IndexCompacted) re-reads the whole state. When that re-read failed, the watch used to
/// forget it had to read and waited for the next change, so the changes in the gap were lost
/// until something else changed. A real node answers the 410 (its streams may catch up on at most
/// two records); a handler in front of the client's real one holds the stream's first request
/// until the changes are made, and fails the re-read for a while.
/// </summary>
public sealed class WatchRereadTests
{
    private static readonly TimeSpan ReadFailureWindow = TimeSpan.FromSeconds(3);

    [Fact]
    public Task WatchConfig_AReReadAfterACompactedHistoryFails_IsRetried_AndTheChangesInTheGapArrive() =>
        GapArrivesAsync(
            "/v1/nodes/config/routes",
            (client, token) => client.WatchConfigAsync(ServicePaths.RoutesRoot, token),
            snapshot => snapshot.Documents.Count,
            (writer, i) => writer.CreateAsync($"{ServicePaths.RoutesRoot}/r{i}", Encoding.UTF8.GetBytes($"doc {i}"), createParents: true),
            "the routes made while the stream could not resume never arrived");

    [Fact]
    public Task WatchService_AReReadAfterACompactedHistoryFails_IsRetried_AndTheInstancesInTheGapArrive() =>
        GapArrivesAsync(
            "/v1/services/orders",
            (client, token) => client.WatchServiceAsync("orders", token),
            set => set.Instances.Length,
            (writer, i) => writer.CreateAsync($"/services/orders/instances/o{i}",
                Encoding.UTF8.GetBytes($$"""{"address":"127.0.0.1","port":{{9000 + i}},"weight":100,"version":"v1"}"""), createParents: true),
            "the instances registered while the stream could not resume never arrived");

    /// <summary>
    /// Watches with <paramref name="watch"/> (first snapshot empty), makes three changes with
    /// <paramref name="write"/> while the stream's first request is held, lets the node answer it
    /// (410), fails the re-read of <paramref name="readPath"/> for a while, and waits for a
    /// snapshot of <paramref name="size"/> 3.
    /// </summary>
    private static async Task GapArrivesAsync<T>(
        string readPath, Func<RegistryClient, CancellationToken, IAsyncEnumerable<T>> watch, Func<T, int> size, Func<RegistryClient, int, Task> write, string lost)
    {
        await using var cluster = await TestCluster.StartAsync(1, SmallStreamBuffer);
        using var faults = new HoldStreamThenFailReads(readPath) { InnerHandler = new SocketsHttpHandler() };
        using var watcher = Client(cluster, faults);
        using var writer = ClusterClients.For(cluster);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var snapshots = new ConcurrentQueue<T>();
        var watching = Task.Run(async () =>
        {
            await foreach (var snapshot in watch(watcher, stop.Token))
                snapshots.Enqueue(snapshot);
        });

        // The stream is asked for as the first snapshot is handed out: wait for both.
        await faults.StreamRequested.WaitAsync(stop.Token);
        await Eventually.TrueAsync(() => !snapshots.IsEmpty, "the first snapshot never came");
        Assert.Equal(0, size(Assert.Single(snapshots)));
        for (var i = 0; i < 3; i++)
            await write(writer, i);
        faults.Release();

        await Eventually.TrueAsync(() => faults.FailedReads > 0, "the stream resumed without a re-read: the test did not make the case it is about");
        await Eventually.TrueAsync(() => snapshots.ToArray() is [.., var last] && size(last) == 3, lost);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching);
    }

    private static Hosting.RegistryNodeOptions SmallStreamBuffer(Hosting.RegistryNodeOptions options) =>
        options with { Limits = new RegistryLimits { WatchStreamBufferRecords = 2 } };

    private static RegistryClient Client(TestCluster cluster, HttpMessageHandler handler) =>
        new(new RegistryClientOptions { Endpoints = [cluster.Nodes[0]!.ClientUrl], RequestTimeout = TimeSpan.FromSeconds(1) }, handler);

    /// <summary>
    /// Holds the first streaming-watch request until <see cref="Release"/>, then fails every read
    /// of <paramref name="readPath"/> for <see cref="ReadFailureWindow"/>, longer than the client's
    /// request timeout, so the client gives the read up at least once.
    /// </summary>
    private sealed class HoldStreamThenFailReads(string readPath) : DelegatingHandler
    {
        private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _failUntil;
        private int _streams;
        private int _failedReads;

        public Task StreamRequested => _requested.Task;

        public int FailedReads => Volatile.Read(ref _failedReads);

        public void Release()
        {
            Volatile.Write(ref _failUntil, Environment.TickCount64 + (long)ReadFailureWindow.TotalMilliseconds);
            _released.TrySetResult();
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (path == "/v1/watch-stream" && Interlocked.Increment(ref _streams) == 1)
            {
                _requested.TrySetResult();
                await _released.Task.WaitAsync(cancellationToken);
            }
            else if (path.StartsWith(readPath, StringComparison.Ordinal) && Environment.TickCount64 < Volatile.Read(ref _failUntil))
            {
                Interlocked.Increment(ref _failedReads);
                throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (injected)");
            }
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
