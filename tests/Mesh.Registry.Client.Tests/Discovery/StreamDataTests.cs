using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Tests.Discovery;

/// <summary>
/// Watches over a <c>data=true</c> stream (the default): a change to an instance, the owner record
/// or a config document reaches the snapshot from the stream's record, with no read; a node over
/// 4 KiB, and a registry that does not know <c>data=true</c>, are read as before.
/// </summary>
public sealed class StreamDataTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(3);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task WatchService_InstancesComingChangingAndLeaving_AreAppliedFromTheStream_WithoutAServiceRead()
    {
        using var client = ClusterClients.For(_cluster);
        await using var session = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(10));
        await using var first = await ServiceRegistration.RegisterAsync(session, "catalog", ClusterClients.Instance("c1", 8081));
        var snapshots = new ConcurrentQueue<EndpointSet>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var watching = Collect(client.WatchServiceAsync("catalog", stop.Token), snapshots);
        await Eventually.TrueAsync(() => snapshots.Count == 1, "the first snapshot never came");
        await Eventually.TrueAsync(() => client.Watcher.Connections > 0, "the stream never opened");
        using var requests = new ServerRequests();

        var second = await ServiceRegistration.RegisterAsync(session, "catalog", ClusterClients.Instance("c2", 8082, weight: 5, version: "v2"));
        await Eventually.TrueAsync(() => snapshots.Last().Instances.Length == 2, "the second instance never arrived");
        await first.UpdateAsync(weight: 7, labels: new Dictionary<string, string> { ["canary"] = "yes" });
        await Eventually.TrueAsync(() => snapshots.Last().Instances[0].Weight == 7, "the update never arrived");
        await second.DisposeAsync();
        await Eventually.TrueAsync(() => snapshots.Last().Instances.Length == 1, "the departure never arrived");

        Assert.Empty(requests.To("/v1/services"));
        var last = snapshots.Last();
        var expected = await client.GetServiceAsync("catalog");
        Assert.True(last.SameInstancesAs(expected), "the applied snapshot differs from a read of the service");
        Assert.Equal("yes", Assert.Single(last.Instances).Labels["canary"]);
        await stop.CancelAsync();
        await watching;
    }

    [Fact]
    public async Task WatchConfig_DocumentsAddedChangedAndDeleted_AreAppliedFromTheStream_AndOneOver4KiBIsRead()
    {
        using var client = ClusterClients.For(_cluster);
        await client.CreateAsync($"{ServicePaths.RoutesRoot}/r0", Encoding.UTF8.GetBytes("doc 0"), createParents: true);
        var snapshots = new ConcurrentQueue<ConfigSnapshot>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var watching = Collect(client.WatchConfigAsync(ServicePaths.RoutesRoot, stop.Token), snapshots);
        await Eventually.TrueAsync(() => snapshots.Count == 1, "the first snapshot never came");
        await Eventually.TrueAsync(() => client.Watcher.Connections > 0, "the stream never opened");
        using var requests = new ServerRequests();

        await client.CreateAsync($"{ServicePaths.RoutesRoot}/r1", Encoding.UTF8.GetBytes("doc 1"));
        await client.SetAsync($"{ServicePaths.RoutesRoot}/r0", "changed");
        await client.DeleteAsync($"{ServicePaths.RoutesRoot}/r1");
        await Eventually.TrueAsync(() => snapshots.Last() is { Documents.Count: 1 } s && Encoding.UTF8.GetString(s.Documents["r0"]) == "changed",
            "the changes never arrived");
        Assert.DoesNotContain(requests.To("nodes"), r => r.StartsWith("GET ", StringComparison.Ordinal));

        var big = new string('x', 5000);
        await client.CreateAsync($"{ServicePaths.RoutesRoot}/big", Encoding.UTF8.GetBytes(big));
        await Eventually.TrueAsync(() => snapshots.Last().Documents.TryGetValue("big", out var data) && data.Length == 5000, "the big document never arrived");
        Assert.Single(requests.To("nodes"), r => r.StartsWith("GET ", StringComparison.Ordinal));
        await stop.CancelAsync();
        await watching;
    }

    [Fact]
    public async Task WatchService_RegistryThatRefusesData_IsStreamedWithoutIt_AndEveryChangeIsRead()
    {
        using var older = new RefuseData { InnerHandler = new SocketsHttpHandler() };
        using var client = new RegistryClient(new RegistryClientOptions { Endpoints = [.. _cluster.Nodes.Select(n => n!.ClientUrl)], RequestTimeout = TimeSpan.FromSeconds(8) }, older);
        await using var session = await RegistrySession.OpenAsync(client, TimeSpan.FromSeconds(10));
        var snapshots = new ConcurrentQueue<EndpointSet>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var watching = Collect(client.WatchServiceAsync("catalog", stop.Token), snapshots);
        await Eventually.TrueAsync(() => snapshots.Count == 1, "the first snapshot never came");
        using var requests = new ServerRequests();

        await using var registration = await ServiceRegistration.RegisterAsync(session, "catalog", ClusterClients.Instance("c1", 8081));
        await Eventually.TrueAsync(() => snapshots.Last().Instances.Length == 1, "the instance never arrived");

        Assert.True(older.Refused > 0, "the client never asked for data=true: the test did not make the case it is about");
        Assert.True(client.Watcher.DataUnsupported);
        Assert.NotEmpty(requests.To("/v1/services"));
        await stop.CancelAsync();
        await watching;
    }

    private static Task Collect<T>(IAsyncEnumerable<T> snapshots, ConcurrentQueue<T> into) => Task.Run(async () =>
    {
        try
        {
            await foreach (var snapshot in snapshots)
                into.Enqueue(snapshot);
        }
        catch (OperationCanceledException)
        {
        }
    });

    /// <summary>Answers a <c>data=true</c> stream as a registry from before it does: 400 naming the parameter.</summary>
    private sealed class RefuseData : DelegatingHandler
    {
        private int _refused;

        public int Refused => Volatile.Read(ref _refused);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath == "/v1/watch-stream" && request.RequestUri.Query.Contains("data=true", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _refused);
                return new HttpResponseMessage(HttpStatusCode.BadRequest)
                {
                    Content = new StringContent("""{"error":"BadRequest","message":"unknown parameter 'data'; a watch stream takes prefix=PATH, path=PATH, trust=true and after=INDEX"}""",
                        Encoding.UTF8, "application/json"),
                };
            }
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
