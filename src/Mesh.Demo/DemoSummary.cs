using System.Globalization;

namespace Mesh.Demo;

/// <summary>What the demo saw, and whether it counts as a working mesh.</summary>
internal sealed record DemoSummary(IReadOnlyList<(string Hop, long Total, long Ok, long Failed, long RateLimited, long Denied, double P50, double P99)> Hops,
    double SplitV1, double SplitV2, long FrontendErrors, IReadOnlyDictionary<string, long> Errors, IReadOnlyList<string> Problems)
{
    public bool Passed => Problems.Count == 0;

    public static DemoSummary From(DemoMesh mesh, TrafficDriver driver, DemoView view)
    {
        var hops = new[] { driver.Stats }.Concat(mesh.Stats.Values)
            .Select(s =>
            {
                var (p50, p99) = s.TotalPercentiles();
                return (s.Name, s.Total, s.Ok, s.Failed, s.RateLimited, s.Denied, p50, p99);
            }).ToList();
        var (v1, v2) = view.Split();
        var problems = new List<string>();
        foreach (var hop in hops.Where(h => h.Ok == 0 && h.Name != DemoMesh.IntruderService))
            problems.Add($"no successful request reached {hop.Name}");
        // The intruder's calls are denied by design; one let through, or none denied, means authorization is off.
        var intruder = mesh.Stats[DemoMesh.IntruderService];
        if (intruder.Ok > 0)
            problems.Add($"catalog's policy let {intruder.Ok} request(s) of {DemoMesh.IntruderService} through");
        if (intruder.Denied == 0)
            problems.Add($"no request of {DemoMesh.IntruderService} was denied by catalog's policy");
        // Every hop between sidecars must have been mutual TLS 1.3 (the callers of frontend and intruder are outside the mesh).
        foreach (var instance in mesh.Instances.Where(i => i.Service is not ("frontend" or DemoMesh.IntruderService) && !i.Killed))
        {
            var security = instance.Sidecar.Host.Security;
            if (security is null || security.InboundTls13Requests == 0)
                problems.Add($"{instance.Name}: no mTLS request reached its sidecar");
            else if (security.InboundPlaintextRequests > 0)
                problems.Add($"{instance.Name}: {security.InboundPlaintextRequests} plaintext request(s) reached its sidecar");
        }

        if (driver.Stats.Failed > 0)
            problems.Add($"{driver.Stats.Failed} request(s) to the frontend failed");
        return new DemoSummary(hops, v1, v2, driver.Stats.Failed, driver.Errors, problems);
    }

    public void Print(TextWriter output)
    {
        output.WriteLine();
        output.WriteLine("summary");
        output.WriteLine($"  {"hop",-12} {"requests",9} {"ok",9} {"failed",7} {"429",6} {"403",6} {"p50 ms",8} {"p99 ms",8}");
        foreach (var h in Hops)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {h.Hop,-12} {h.Total,9} {h.Ok,9} {h.Failed,7} {h.RateLimited,6} {h.Denied,6} {h.P50,8:0.0} {h.P99,8:0.0}"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  catalog split observed: v1 {SplitV1:0.0}% / v2 {SplitV2:0.0}% (routes ask for 90/10)"));
        foreach (var (error, count) in Errors.OrderByDescending(e => e.Value).Take(5))
            output.WriteLine($"  frontend error x{count}: {error.ReplaceLineEndings(" ")}");
        var rateLimited = Hops.Count > 0 ? Hops[0].RateLimited : 0;
        // Above the route's limit, 429s are the rate limit working; say so, so they do not read as errors.
        var limited = rateLimited > 0
            ? $"; the catalog route's rate limit (samples/Shop/mesh/routes.yaml) answered {rateLimited} request(s) with 429, as expected above its rate: not errors"
            : "";
        output.WriteLine(Passed
            ? $"  result: OK — traffic flowed through every hop, sidecar to sidecar over mTLS (TLS 1.3); catalog denied {DemoMesh.IntruderService}{limited}"
            : "  result: FAILED — " + string.Join("; ", Problems) + limited);
    }
}
