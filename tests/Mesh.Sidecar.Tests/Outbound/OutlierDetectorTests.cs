using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;
using Mesh.Sidecar.Outbound;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Sidecar.Tests.Outbound;

public sealed class OutlierDetectorTests
{
    private static readonly OutlierDetectionConfig Config = new()
    {
        ConsecutiveFailures = 3,
        BaseEjectionTime = TimeSpan.FromSeconds(30),
        MaxEjectionTime = TimeSpan.FromSeconds(300),
        MaxEjectionPercent = 50,
    };

    private readonly FakeTimeProvider _time = new();

    private ClusterState Cluster(int endpoints)
    {
        var cluster = new ClusterState("catalog", _time);
        cluster.Update(new ServiceEndpoints("catalog", 1,
            [.. Enumerable.Range(0, endpoints).Select(i => new MeshEndpoint { Id = "e" + i, Address = "10.0.0." + (i + 1), Port = 15006, Weight = 1, Version = "v1" })]));
        return cluster;
    }

    private static EndpointState Endpoint(ClusterState cluster, int i) => cluster.Snapshot.All[i];

    private static bool InRotation(ClusterState cluster, EndpointState endpoint) => cluster.Snapshot.Healthy.Endpoints.Contains(endpoint);

    private static void Fail(OutlierDetector detector, ClusterState cluster, EndpointState endpoint, int times)
    {
        for (var i = 0; i < times; i++)
            detector.ReportFailure(cluster, endpoint, Config);
    }

    [Fact]
    public void ReportFailure_ConsecutiveFailuresReached_EjectsTheEndpoint()
    {
        var cluster = Cluster(4);
        var detector = new OutlierDetector(_time);
        var endpoint = Endpoint(cluster, 0);

        Fail(detector, cluster, endpoint, 2);
        Assert.True(InRotation(cluster, endpoint));

        Fail(detector, cluster, endpoint, 1);
        Assert.True(endpoint.IsEjected);
        Assert.False(InRotation(cluster, endpoint));
        Assert.Equal(3, cluster.Snapshot.Healthy.Endpoints.Length);
    }

    [Fact]
    public void ReportSuccess_BetweenFailures_StartsTheCountAgain()
    {
        var cluster = Cluster(4);
        var detector = new OutlierDetector(_time);
        var endpoint = Endpoint(cluster, 0);

        Fail(detector, cluster, endpoint, 2);
        detector.ReportSuccess(endpoint, Config);
        Fail(detector, cluster, endpoint, 2);

        Assert.False(endpoint.IsEjected);
        Assert.Equal(4, endpoint.Failures);
    }

    [Fact]
    public void Snapshot_EjectionTimeOver_ReturnsTheEndpoint()
    {
        var cluster = Cluster(4);
        var detector = new OutlierDetector(_time);
        var endpoint = Endpoint(cluster, 0);
        Fail(detector, cluster, endpoint, 3);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(InRotation(cluster, endpoint));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(InRotation(cluster, endpoint));
        Assert.False(endpoint.IsEjected);
    }

    [Fact]
    public void ReportFailure_EjectedAgain_StaysOutLongerEachTimeUpToTheMaximum()
    {
        var cluster = Cluster(4);
        var detector = new OutlierDetector(_time);
        var endpoint = Endpoint(cluster, 0);

        // Base time × number of ejections: 30 s, 60 s, 90 s, ... capped at 300 s.
        foreach (var expected in new[] { 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300 })
        {
            Fail(detector, cluster, endpoint, 3);
            Assert.False(InRotation(cluster, endpoint));
            _time.Advance(TimeSpan.FromSeconds(expected - 1));
            Assert.False(InRotation(cluster, endpoint));
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.True(InRotation(cluster, endpoint));
        }
    }

    [Fact]
    public void ReportSuccess_HealthyLongerThanMaxEjectionTime_ForgivesPastEjections()
    {
        var cluster = Cluster(4);
        var detector = new OutlierDetector(_time);
        var endpoint = Endpoint(cluster, 0);
        Fail(detector, cluster, endpoint, 3);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(InRotation(cluster, endpoint));
        Fail(detector, cluster, endpoint, 3);
        Assert.Equal(2, endpoint.EjectionCount);

        // Back after 60 s, then healthy for longer than maxEjectionTime since the last ejection.
        _time.Advance(TimeSpan.FromSeconds(301));
        Assert.True(InRotation(cluster, endpoint));
        detector.ReportSuccess(endpoint, Config);
        Assert.Equal(0, endpoint.EjectionCount);

        // The next ejection is a first one again: the base time.
        Fail(detector, cluster, endpoint, 3);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(InRotation(cluster, endpoint));
    }

    [Fact]
    public void ReportFailure_MaxEjectionPercentReached_KeepsTheRestInRotation()
    {
        var cluster = Cluster(4);
        var detector = new OutlierDetector(_time);

        // 50% of 4: two may be out, the third failing endpoint stays in.
        Fail(detector, cluster, Endpoint(cluster, 0), 3);
        Fail(detector, cluster, Endpoint(cluster, 1), 3);
        Fail(detector, cluster, Endpoint(cluster, 2), 3);

        Assert.True(Endpoint(cluster, 0).IsEjected);
        Assert.True(Endpoint(cluster, 1).IsEjected);
        Assert.False(Endpoint(cluster, 2).IsEjected);
        Assert.Equal(2, cluster.Snapshot.Healthy.Endpoints.Length);
    }

    [Fact]
    public void ReportFailure_OnlyEndpoint_IsStillEjectedOnce()
    {
        // The first ejection is always allowed, even past maxEjectionPercent.
        var cluster = Cluster(1);
        var detector = new OutlierDetector(_time);

        Fail(detector, cluster, Endpoint(cluster, 0), 3);

        Assert.True(Endpoint(cluster, 0).IsEjected);
        Assert.Empty(cluster.Snapshot.Healthy.Endpoints);
    }

    [Fact]
    public void ReportFailure_ZeroConsecutiveFailures_NeverEjects()
    {
        var cluster = Cluster(2);
        var detector = new OutlierDetector(_time);
        var endpoint = Endpoint(cluster, 0);

        for (var i = 0; i < 100; i++)
            detector.ReportFailure(cluster, endpoint, Config with { ConsecutiveFailures = 0 });

        Assert.False(endpoint.IsEjected);
        Assert.Equal(100, endpoint.Failures);
    }
}
