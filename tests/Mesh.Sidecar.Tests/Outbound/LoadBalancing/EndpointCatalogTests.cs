using System.Runtime.CompilerServices;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Sidecar.Tests.Outbound.LoadBalancing;

/// <summary>The catalog's watches on scripted time: re-watching after a failure, and discovery on demand.</summary>
public sealed class EndpointCatalogTests
{
    /// <summary>A source whose n-th watch does what the test says.</summary>
    private sealed class ScriptedSource(Func<int, CancellationToken, IAsyncEnumerable<ServiceEndpoints>> watch) : IEndpointSource
    {
        private int _watches;

        public int Watches => Volatile.Read(ref _watches);

        public IReadOnlyCollection<string> KnownServices => [];

        public IAsyncEnumerable<ServiceEndpoints> WatchAsync(string service, CancellationToken cancellationToken) =>
            watch(Interlocked.Increment(ref _watches), cancellationToken);
    }

    private static readonly MeshEndpoint Instance = new() { Id = "c1", Address = "10.0.0.1", Port = 15006 };

    private static async IAsyncEnumerable<ServiceEndpoints> Failing([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        throw new IOException("registry connection reset");
#pragma warning disable CS0162 // an iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }

    private static async IAsyncEnumerable<ServiceEndpoints> OnceThenQuiet(ServiceEndpoints first, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        yield return first;
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    [Fact]
    public async Task Watch_SourceFails_IsWatchedAgainAfterTheBackoffOnTheCatalogsClock()
    {
        var time = new FakeTimeProvider();
        var source = new ScriptedSource((n, token) => n == 1 ? Failing(token) : OnceThenQuiet(new("catalog", 7, [Instance]), token));
        await using var catalog = new EndpointCatalog(source, time, NullLogger.Instance);

        var cluster = catalog.GetOrWatch("catalog");
        await Eventually.TrueAsync(() => source.Watches == 1, "the catalog never watched");

        // The second watch waits for the backoff on the catalog's clock: moving it is what lets it run.
        await Eventually.TrueAsync(() =>
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            return cluster.Snapshot.IsKnown;
        }, "the catalog never watched again after the source failed");
        Assert.Equal(2, source.Watches);
        Assert.Equal("c1", Assert.Single(cluster.Snapshot.All).Endpoint.Id);
    }

    [Fact]
    public async Task TryDiscoverAsync_ANameAnsweredBefore_AnswersAtOnceWithoutAnotherWatch()
    {
        var time = new FakeTimeProvider();
        var source = new ScriptedSource((_, token) => OnceThenQuiet(new("nobody", 3, []), token));
        await using var catalog = new EndpointCatalog(source, time, NullLogger.Instance);

        Assert.False(await catalog.TryDiscoverAsync("nobody", TimeSpan.FromSeconds(2), CancellationToken.None));
        var again = catalog.TryDiscoverAsync("nobody", TimeSpan.FromSeconds(2), CancellationToken.None);

        // The clock never moved, so an answer now is one that did not wait out the 2 s again.
        Assert.True(again.IsCompleted);
        Assert.False(await again);
        Assert.Equal(1, source.Watches);
    }

    [Fact]
    public async Task DisposeAsync_CalledTwice_StopsTheWatchesOnceAndDoesNotThrow()
    {
        var source = new ScriptedSource((_, token) => OnceThenQuiet(new("catalog", 7, [Instance]), token));
        var catalog = new EndpointCatalog(source, new FakeTimeProvider(), NullLogger.Instance);
        var cluster = catalog.GetOrWatch("catalog");
        await Eventually.TrueAsync(() => cluster.Snapshot.IsKnown, "the catalog never watched");

        // The host stops the catalog, then its container disposes it again.
        await catalog.DisposeAsync();
        await catalog.DisposeAsync();

        Assert.Equal(1, source.Watches);
    }
}
