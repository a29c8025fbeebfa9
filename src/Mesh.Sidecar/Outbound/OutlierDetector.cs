// Passive health: an endpoint that fails N times in a row is ejected for base time × number of
// ejections (capped), unless too many of its service are ejected already. Ejections rebuild the
// cluster snapshot, so pickers never see ejected endpoints and never check per request.
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Outbound.LoadBalancing;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Sidecar.Outbound;

internal sealed class OutlierDetector(TimeProvider timeProvider, ISidecarTelemetry? telemetry = null)
{
    public void ReportSuccess(EndpointState endpoint, OutlierDetectionConfig config)
    {
        if (Volatile.Read(ref endpoint.ConsecutiveFailures) != 0)
            Volatile.Write(ref endpoint.ConsecutiveFailures, 0);
        // Forgive past ejections once the endpoint has stayed healthy for a while.
        if (endpoint.EjectionCount != 0
            && timeProvider.GetElapsedTime(Volatile.Read(ref endpoint.LastEjectionTimestamp)) > config.MaxEjectionTime)
        {
            endpoint.EjectionCount = 0;
        }
    }

    public void ReportFailure(ClusterState cluster, EndpointState endpoint, OutlierDetectionConfig config)
    {
        Interlocked.Increment(ref endpoint.Failures);
        var failures = Interlocked.Increment(ref endpoint.ConsecutiveFailures);
        if (config.ConsecutiveFailures <= 0 || failures < config.ConsecutiveFailures || endpoint.IsEjected)
            return;
        lock (endpoint)
        {
            if (endpoint.IsEjected)
                return;
            var all = cluster.Snapshot.All;
            var ejected = 0;
            foreach (var other in all)
            {
                if (other.IsEjected)
                    ejected++;
            }
            // Always allow the first ejection; beyond that respect maxEjectionPercent.
            if (ejected > 0 && (ejected + 1) * 100 > config.MaxEjectionPercent * all.Length)
                return;
            endpoint.EjectionCount++;
            var duration = TimeSpan.FromTicks(Math.Min(config.BaseEjectionTime.Ticks * endpoint.EjectionCount, config.MaxEjectionTime.Ticks));
            var now = timeProvider.GetTimestamp();
            Volatile.Write(ref endpoint.LastEjectionTimestamp, now);
            Volatile.Write(ref endpoint.ConsecutiveFailures, 0);
            Volatile.Write(ref endpoint.EjectedUntil, now + (long)(duration.TotalSeconds * timeProvider.TimestampFrequency));
        }
        telemetry?.EndpointEjected(cluster.Service);
        cluster.Rebuild();
    }
}
