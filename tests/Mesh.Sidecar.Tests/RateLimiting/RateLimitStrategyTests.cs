using System.Net;
using System.Threading.RateLimiting;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Sidecar.Tests.RateLimiting;

public sealed class RateLimitStrategyTests
{
    private readonly FakeTimeProvider _time = new();

    private RateLimitStrategy Strategy(RateLimitOptions options) => new(options with { Name = options.Name.Length > 0 ? options.Name : "r" }, _time);

    private static DefaultHttpContext Request(string? apiKey = null, string? caller = null, string? ip = null)
    {
        var context = new DefaultHttpContext();
        if (apiKey is not null)
            context.Request.Headers["x-api-key"] = apiKey;
        if (caller is not null)
            context.Request.Headers["x-mesh-caller"] = caller;
        if (ip is not null)
            context.Connection.RemoteIpAddress = IPAddress.Parse(ip);
        return context;
    }

    /// <summary>Acquires <paramref name="count"/> times; "+" admitted, "-" rejected.</summary>
    private static string Attempts(RateLimitStrategy strategy, int count, HttpContext? context = null)
    {
        context ??= Request();
        var result = new char[count];
        for (var i = 0; i < count; i++)
            result[i] = strategy.AttemptAcquire(context).IsAcquired ? '+' : '-';
        return new string(result);
    }

    [Fact]
    public void TokenBucket_2PerSecondBurst3_AdmitsExactSequence()
    {
        using var strategy = Strategy(new RateLimitOptions { RequestsPerSecond = 2, Burst = 3 });

        Assert.Equal("+++-", Attempts(strategy, 4));
        _time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.Equal("-", Attempts(strategy, 1));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("+-", Attempts(strategy, 2));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("+++-", Attempts(strategy, 4));
    }

    [Fact]
    public void TokenBucket_Rejection_RetryAfterIsTimeToNextToken()
    {
        using var strategy = Strategy(new RateLimitOptions { RequestsPerSecond = 4, Burst = 1 });
        Assert.Equal("+", Attempts(strategy, 1));
        _time.Advance(TimeSpan.FromMilliseconds(100));

        using var lease = strategy.AttemptAcquire(Request());

        Assert.False(lease.IsAcquired);
        Assert.Equal(TimeSpan.FromMilliseconds(150), strategy.RetryAfter(lease));
        Assert.Equal("\"r\";q=4;w=1", strategy.PolicyHeader);
    }

    [Fact]
    public async Task TokenBucket_Queue1_SecondWaitsForItsTokenThirdIsRefused()
    {
        using var strategy = Strategy(new RateLimitOptions { RequestsPerSecond = 1, Burst = 1, QueueLimit = 1 });
        Assert.Equal("+", Attempts(strategy, 1));

        var waiting = strategy.AcquireAsync(Request(), CancellationToken.None).AsTask();
        var refused = await strategy.AcquireAsync(Request(), CancellationToken.None);

        Assert.False(refused.IsAcquired);
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await waiting.WaitAsync(TimeSpan.FromSeconds(5))).IsAcquired);
        Assert.Equal("-", Attempts(strategy, 1));
    }

    [Fact]
    public void FixedWindow_3Per1s_ResetsAtWindowEnd()
    {
        using var strategy = Strategy(new RateLimitOptions { Kind = RateLimitKind.FixedWindow, Limit = 3, Window = TimeSpan.FromSeconds(1) });

        Assert.Equal("+++-", Attempts(strategy, 4));
        _time.Advance(TimeSpan.FromMilliseconds(400));
        using (var lease = strategy.AttemptAcquire(Request()))
            Assert.Equal(TimeSpan.FromMilliseconds(600), strategy.RetryAfter(lease));
        _time.Advance(TimeSpan.FromMilliseconds(599));
        Assert.Equal("-", Attempts(strategy, 1));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("+++-", Attempts(strategy, 4));
        Assert.Equal("\"r\";q=3;w=1", strategy.PolicyHeader);
    }

    [Fact]
    public void SlidingWindow_4Per1sIn2Segments_FreesPermitsWhenTheirSegmentLeaves()
    {
        using var strategy = Strategy(new RateLimitOptions { Kind = RateLimitKind.SlidingWindow, Limit = 4, Window = TimeSpan.FromSeconds(1), SegmentsPerWindow = 2 });

        Assert.Equal("+++", Attempts(strategy, 3));                // segment A: 3
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal("+-", Attempts(strategy, 2));                 // segment B: 1, window full (4)
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal("+++-", Attempts(strategy, 4));               // A's 3 left the window
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal("+-", Attempts(strategy, 2));                 // B's 1 left
    }

    [Fact]
    public void Concurrency_2InFlight_ReleasingOneAdmitsTheNext()
    {
        using var strategy = Strategy(new RateLimitOptions { Kind = RateLimitKind.Concurrency, Limit = 2 });
        var context = Request();

        var first = strategy.AttemptAcquire(context);
        var second = strategy.AttemptAcquire(context);
        Assert.True(first.IsAcquired && second.IsAcquired);
        Assert.Equal("-", Attempts(strategy, 1));
        first.Dispose();
        Assert.Equal("+-", Attempts(strategy, 2));
        second.Dispose();
        Assert.Equal("\"r\";q=2", strategy.PolicyHeader);
    }

    [Fact]
    public void HeaderKey_PartitionsKeepKeysApart()
    {
        using var strategy = Strategy(new RateLimitOptions { RequestsPerSecond = 1, Burst = 2, Key = RateLimitKeyKind.Header, KeyHeader = "x-api-key" });

        Assert.Equal("++-", Attempts(strategy, 3, Request(apiKey: "alice")));
        Assert.Equal("++-", Attempts(strategy, 3, Request(apiKey: "bob")));
        Assert.Equal("++-", Attempts(strategy, 3, Request()));     // no header: one shared partition
        Assert.Equal(3, strategy.PartitionCount);
    }

    [Fact]
    public void CallerKey_UsesMeshCallerHeaderElseAnonymous()
    {
        using var strategy = Strategy(new RateLimitOptions { RequestsPerSecond = 1, Burst = 1, Key = RateLimitKeyKind.Caller });

        Assert.Equal("+-", Attempts(strategy, 2, Request(caller: "spiffe://mesh/ns/shop/sa/web")));
        Assert.Equal("+-", Attempts(strategy, 2, Request()));
        Assert.True(strategy.PartitionsForTests!.Contains(RateLimitKeySelector.Anonymous));
        Assert.True(strategy.PartitionsForTests!.Contains("spiffe://mesh/ns/shop/sa/web"));
    }

    [Fact]
    public void ClientIpKey_PartitionsByRemoteAddress()
    {
        using var strategy = Strategy(new RateLimitOptions { RequestsPerSecond = 1, Burst = 1, Key = RateLimitKeyKind.ClientIp });

        Assert.Equal("+-", Attempts(strategy, 2, Request(ip: "10.0.0.1")));
        Assert.Equal("+-", Attempts(strategy, 2, Request(ip: "2001:db8::1")));
        Assert.True(strategy.PartitionsForTests!.Contains("10.0.0.1"));
        Assert.True(strategy.PartitionsForTests!.Contains("2001:db8::1"));
    }

    [Fact]
    public void ManyKeys_PartitionCountStaysBoundedByMaxPartitions()
    {
        using var strategy = Strategy(new RateLimitOptions { RequestsPerSecond = 10, Key = RateLimitKeyKind.Header, KeyHeader = "x-api-key", MaxPartitions = 100 });
        var context = Request();

        for (var i = 0; i < 20_000; i++)
        {
            context.Request.Headers["x-api-key"] = "key-" + i;
            Assert.True(strategy.AttemptAcquire(context).IsAcquired);
            Assert.InRange(strategy.PartitionCount, 1, 100);
        }
        Assert.True(strategy.PartitionsForTests!.Evicted >= 19_900);
        // The most recent key survived eviction (least recently used go first).
        Assert.True(strategy.PartitionsForTests.Contains("key-19999"));
    }

    [Fact]
    public void IdlePartitions_AreSweptOnceFullAndUnused()
    {
        using var strategy = Strategy(new RateLimitOptions { RequestsPerSecond = 10, Key = RateLimitKeyKind.Header, KeyHeader = "x-api-key" });
        var context = Request();
        for (var i = 0; i < 50; i++)
        {
            context.Request.Headers["x-api-key"] = "key-" + i;
            strategy.AttemptAcquire(context);
        }
        Assert.Equal(50, strategy.PartitionCount);

        for (var s = 0; s < 12; s++)
            _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, strategy.PartitionCount);
    }

    [Fact]
    public void MeshWide_ShareScalesTheLimitAndResplitKeepsFillLevel()
    {
        using var strategy = new RateLimitStrategy(new RateLimitOptions { Name = "catalog", RequestsPerSecond = 300, MeshWide = true }, _time, share: 1.0 / 3);

        Assert.Equal(100, strategy.EffectiveLimit, 6);
        Assert.Equal(100, Attempts(strategy, 150).Count(c => c == '+'));
        strategy.SetShare(0.5);
        Assert.Equal(150, strategy.EffectiveLimit, 6);
        Assert.Equal("-", Attempts(strategy, 1));                   // the empty bucket stays empty
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(150, Attempts(strategy, 200).Count(c => c == '+'));
        Assert.Equal("\"catalog\";q=150;w=1", strategy.PolicyHeader);
    }

    [Fact]
    public void LocalLimit_IgnoresShare()
    {
        using var strategy = new RateLimitStrategy(new RateLimitOptions { Name = "x", Kind = RateLimitKind.FixedWindow, Limit = 10 }, _time, share: 0.5);
        strategy.SetShare(0.1);
        Assert.Equal(10, strategy.EffectiveLimit);
    }

    [Fact]
    public void InvalidOptions_FailWhenTheStrategyIsBuilt()
    {
        var error = Assert.Throws<ArgumentException>(() => new RateLimitStrategy(new RateLimitOptions { Name = "x", Kind = RateLimitKind.FixedWindow, Limit = 5, Window = TimeSpan.Zero }, _time));
        Assert.Contains("window: must be > 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MeshShare_Compute_IsOwnWeightOverLiveTotal()
    {
        Assert.Equal(1.0 / 3, MeshShare.Compute([("a", 100), ("b", 100), ("c", 100)], "a", 100), 9);
        Assert.Equal(0.5, MeshShare.Compute([("a", 200), ("b", 100), ("c", 100)], "a", 100), 9);
        // Not (yet) in the set: counts itself in rather than taking the whole limit.
        Assert.Equal(1.0 / 3, MeshShare.Compute([("b", 100), ("c", 100)], "a", 100), 9);
        Assert.Equal(0.5, MeshShare.Compute([("a", 0), ("b", 0)], "a", 0), 9);
    }

    [Fact]
    public void SuccessfulLeases_OnTheHotPath_DoNotAllocate()
    {
        using var routeWide = Strategy(new RateLimitOptions { RequestsPerSecond = 1_000_000 });
        using var perKey = Strategy(new RateLimitOptions { RequestsPerSecond = 1_000_000, Key = RateLimitKeyKind.Header, KeyHeader = "x-api-key" });
        var context = Request(apiKey: "alice");
        routeWide.AttemptAcquire(context);
        perKey.AttemptAcquire(context);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            routeWide.AttemptAcquire(context).Dispose();
            perKey.AttemptAcquire(context).Dispose();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
