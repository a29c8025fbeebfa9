using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Reliability.Tests.Checks;
using Mesh.Reliability.Tests.Linearizability;
using Mesh.Reliability.Tests.Nemesis;
using Mesh.Reliability.Tests.Recording;
using Mesh.Reliability.Tests.Workload;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// Issue 13, registry part: a real cluster of <c>mesh registry</c> processes (3 or 5, one network
/// namespace each), concurrent clients doing reads, writes, CAS, creates and deletes on a few
/// keys, a session probe and watchers, while the nemesis plays a seeded <see cref="FaultSchedule"/>
/// (kill -9 + restart of random nodes and of the leader, SIGSTOP/SIGCONT, partitions, whole-cluster
/// kill + restart, torn last writes; peers talk only through fault-injecting relays, see
/// <see cref="ProcessCluster"/>). Then everything is healed, the keys are read a last time
/// and the history is checked: linearizability, every acknowledged write present, sessions and
/// ephemerals, watch streams. The short run is the CI default (~45 s of faults); set
/// <c>MESH_RELIABILITY_DURATION</c> (and the other <c>MESH_RELIABILITY_*</c> variables) for a long
/// one. The seed and parameters are printed first, and the report, the history and the nemesis
/// log are written under <c>artifacts/reliability/</c>.
/// </summary>
[Collection(NetworkLabCollection.Name)]
public sealed class RegistryFaultRunTests(ITestOutputHelper output)
{
    private const string Keys = "/rel";
    private const string Sessions = "/rel-sessions";

    /// <summary>The CI defaults: 45 s of faults in 9 s cycles (5 faults), every kind the lab can inject.</summary>
    internal static readonly FaultScheduleOptions Defaults = new(
        Seed: 0,
        Duration: TimeSpan.FromSeconds(45),
        Kinds: [FaultKind.Partition, FaultKind.Crash, FaultKind.Pause, FaultKind.TornWrite, FaultKind.LeaderCrash, FaultKind.ClusterCrash],
        CycleLength: TimeSpan.FromSeconds(9),
        Nodes: 3);

    /// <summary>
    /// The partition run's CI defaults: 30 s in 6 s cycles (5 faults) of the link faults the
    /// relays inject, with raw-HTTP clients (<see cref="RawHttpRegisterClient"/>).
    /// </summary>
    internal static readonly FaultScheduleOptions PartitionDefaults = new(
        Seed: 0,
        Duration: TimeSpan.FromSeconds(30),
        Kinds: [FaultKind.Partition, FaultKind.LeaderIsolation, FaultKind.Bridge, FaultKind.Flap, FaultKind.OneWay],
        CycleLength: TimeSpan.FromSeconds(6),
        Nodes: 3);

    [SkippableFact]
    public Task RegistryCluster_UnderFaults_IsLinearizable_Durable_AndKeepsSessionsAndWatches() =>
        RunAsync("registry", Defaults, rawHttp: false);

    /// <summary>
    /// Issue 18: partitions between peers (a minority or the leader cut off, a bridge, flapping
    /// links, one-way loss), with clients that speak bare HTTP, retry nothing, and take a 503 as
    /// "not applied". Long mode: <c>scripts/registry-partition-runs.sh</c>.
    /// </summary>
    [SkippableFact]
    public Task RegistryCluster_UnderPartitions_RawHttpAnswersAreTrue_Linearizable_AndDurable() =>
        RunAsync("partitions", PartitionDefaults, rawHttp: true);

    private async Task RunAsync(string name, FaultScheduleOptions defaults, bool rawHttp)
    {
        var run = Stopwatch.StartNew();
        var log = new ConcurrentQueue<string>();
        void Log(string line)
        {
            var stamped = string.Create(CultureInfo.InvariantCulture, $"[{run.Elapsed.TotalSeconds,7:0.000}] {line}");
            log.Enqueue(stamped);
            try
            {
                output.WriteLine(stamped);
            }
            catch (InvalidOperationException)
            {
                // the test already ended (a background task logging late)
            }
        }

        RequiredTool.Check(NetworkLab.Unavailable());

        var options = ReliabilitySettings.FromEnvironment(defaults: defaults);
        var workers = EnvInt("MESH_RELIABILITY_WORKERS", 4);
        var keyCount = EnvInt("MESH_RELIABILITY_KEYS", 3);
        var schedule = FaultSchedule.Generate(options);
        var artifacts = ArtifactsDirectory(name, options.Seed);
        Log($"registry fault run: {options} workers={workers} keys={keyCount}; artifacts in {artifacts}");
        Log($"replay with: {ReliabilitySettings.ReplayCommand(options)} MESH_RELIABILITY_WORKERS={workers} MESH_RELIABILITY_KEYS={keyCount} dotnet test tests/Mesh.Reliability.Tests --filter {(rawHttp ? "RegistryCluster_UnderPartitions" : "RegistryCluster_UnderFaults")}");

        var dataRoot = Path.Combine(Path.GetTempPath(), $"mesh-rel-{name}-{Environment.ProcessId}-{options.Seed}");
        if (Directory.Exists(dataRoot))
            Directory.Delete(dataRoot, recursive: true);
        var recorder = new HistoryRecorder();
        var rawClients = new List<RawHttpRegisterClient>();
        var report = new StringBuilder();
        var violations = new List<Violation>();
        CheckResult? linearizability = null;
        await using (var lab = NetworkLab.Create(options.Nodes, Log))
        // A snapshot every 200 entries keeping a tail of 50 behind it: a node cut off for a moment
        // catches up from the tail, one cut off for longer is sent the snapshot, so both paths
        // run under the faults (the default tail of 5,000 would leave installs untested here).
        await using (var cluster = await ProcessCluster.StartAsync(lab, dataRoot, snapshotEvery: 200, Log, snapshotKeep: 50))
        {
            try
            {
                using var admin = RegistryRegisterClient.NewClient(cluster.ClientUrls);
                await admin.CreateAsync(Keys, [], createParents: true);
                await admin.CreateAsync(Sessions, [], createParents: true);
                var startIndex = await admin.CurrentIndexAsync(Keys);

                var acked = new ConcurrentBag<long>();
                var keys = Enumerable.Range(0, keyCount).Select(i => ((char)('x' + (i % 3))).ToString() + (i >= 3 ? i.ToString(CultureInfo.InvariantCulture) : "")).ToArray();
                if (rawHttp)
                    rawClients.AddRange(Enumerable.Range(0, workers).Select(i => new RawHttpRegisterClient(cluster.ClientUrls, i, Keys, acked.Add)));
                IDisposable[] clients = rawHttp
                    ? [.. rawClients]
                    : Enumerable.Range(0, workers).Select(i => new RegistryRegisterClient(RegistryRegisterClient.NewClient(cluster.ClientUrls, rotate: i), Keys, acked.Add)).ToArray();

                // watchers over the keys (two, starting at different nodes) and over the session nodes
                using var stopWatchers = new CancellationTokenSource();
                var watchClients = Enumerable.Range(0, 3).Select(i => RegistryRegisterClient.NewClient(cluster.ClientUrls, rotate: i + 1)).ToArray();
                var keyWatchers = new[] { new WatchRecorder("keys-a", watchClients[0], Keys), new WatchRecorder("keys-b", watchClients[1], Keys) };
                var sessionWatcher = new WatchRecorder("sessions", watchClients[2], Sessions);
                var sessionStart = await admin.CurrentIndexAsync(Sessions);
                var watcherTasks = keyWatchers.Select(w => w.RunAsync(startIndex, stopWatchers.Token))
                    .Append(sessionWatcher.RunAsync(sessionStart, stopWatchers.Token)).ToArray();

                // sessions
                using var sessionClient = RegistryRegisterClient.NewClient(cluster.ClientUrls, rotate: 2);
                using var liveSessionClient = RegistryRegisterClient.NewClient(cluster.ClientUrls, rotate: 1);
                var probe = new SessionProbe(sessionClient, liveSessionClient, Sessions, Log);
                using var stopSessions = new CancellationTokenSource();
                var sessionTasks = new[]
                {
                    probe.RunLiveAsync(stopSessions.Token),
                    probe.RunAbandonedAsync(TimeSpan.FromSeconds(4), stopSessions.Token),
                    probe.RunReaderAsync(stopSessions.Token),
                };

                // workload + nemesis
                using var stopWorkload = new CancellationTokenSource();
                var workload = RegisterWorkload.RunAsync(
                    i => (IRegisterClient)clients[i], recorder, new WorkloadOptions(options.Seed, workers, int.MaxValue, keys), stopWorkload.Token);
                await NemesisRunner.RunAsync(schedule, cluster, Log);
                Log("nemesis: done; everything healed");
                await stopWorkload.CancelAsync();
                await IgnoreCancellation(workload);

                Log("waiting for the cluster to be whole and healthy");
                await cluster.WaitHealthyAsync(TimeSpan.FromSeconds(90));
                await cluster.SettleAsync();

                // final reads, recorded into the history too (client ids from 1000)
                var finalValues = new Dictionary<string, string?>(StringComparer.Ordinal);
                using (var finalDisposable = rawHttp ? new RawHttpRegisterClient(cluster.ClientUrls, 0, Keys) : (IDisposable)new RegistryRegisterClient(RegistryRegisterClient.NewClient(cluster.ClientUrls), Keys))
                {
                    var finalClient = (IRegisterClient)finalDisposable;
                    var finalId = 1000;
                    foreach (var key in keys)
                    {
                        for (var attempt = 0; ; attempt++)
                        {
                            var result = await finalClient.RecordAsync(recorder, finalId++, RegisterRequest.Read(key), CancellationToken.None);
                            if (result is not null)
                            {
                                finalValues[key] = result.Value;
                                break;
                            }
                            if (attempt > 20)
                                throw new TimeoutException($"no final read of '{key}' succeeded after the heal");
                            await Task.Delay(500);
                        }
                    }
                }
                var finalIndex = await admin.CurrentIndexAsync("/");
                Log($"final reads: {string.Join(", ", finalValues.Select(kv => $"{kv.Key}={kv.Value ?? "(none)"}"))} at index {finalIndex}");

                // sessions: the live one still lives; the abandoned ones all expire
                await stopSessions.CancelAsync();
                await IgnoreCancellation(Task.WhenAll(sessionTasks));
                var expiryDeadline = DateTime.UtcNow + SessionProbe.AbandonedTtl + TimeSpan.FromSeconds(15);
                while (probe.StillPresent.Any() && DateTime.UtcNow < expiryDeadline)
                {
                    await probe.ReadAbandonedOnceAsync(CancellationToken.None);
                    await Task.Delay(300);
                }
                if (await sessionClient.TryGetAsync($"{Sessions}/live") is null)
                    violations.Add(new Violation("live sessions survive failovers", "the live session's ephemeral node was gone after the final heal"));

                // watchers catch up with the final index, then stop
                var finalSessionIndex = await admin.CurrentIndexAsync("/");
                var catchUp = Stopwatch.StartNew();
                while (catchUp.Elapsed < TimeSpan.FromSeconds(20) &&
                       (keyWatchers.Any(w => w.Index < finalIndex) || sessionWatcher.Index < finalSessionIndex))
                    await Task.Delay(200);
                await stopWatchers.CancelAsync();
                await IgnoreCancellation(Task.WhenAll(watcherTasks));
                foreach (var c in watchClients)
                    c.Dispose();
                foreach (var c in clients)
                    c.Dispose();

                // ---- checks ----
                var history = recorder.ToHistory();
                var check = Stopwatch.StartNew();
                linearizability = LinearizabilityChecker.Check(history, new CheckOptions(TimeSpan.FromSeconds(120), 200_000_000));
                Log($"linearizability: {linearizability.Verdict} in {check.Elapsed.TotalSeconds:0.0} s");
                violations.AddRange(DurabilityCheck.Check(history, finalValues));
                violations.AddRange(probe.Violations);
                violations.AddRange(CheckWatches(keyWatchers, acked.ToHashSet(), history, finalIndex, Log));
                foreach (var segment in sessionWatcher.Segments)
                {
                    foreach (var deleted in segment.Events.Where(e => e.Type == ChangeEvent.Deleted))
                        probe.AddDeletion(deleted.Path, deleted.Index);
                }
                violations.AddRange(EphemeralCheck.Check(probe.Ends, probe.Sightings));
                foreach (var path in await probe.FinalPresentAsync())
                    violations.Add(new Violation(EphemeralCheck.Name, $"{path} of an abandoned session (ttl {SessionProbe.AbandonedTtl.TotalSeconds:0} s) still exists {SessionProbe.AbandonedTtl.TotalSeconds + 15:0} s after the final heal"));

                // ---- report ----
                var ops = history.Count;
                report.AppendLine(CultureInfo.InvariantCulture, $"registry fault run: {options} workers={workers} keys={keyCount}");
                report.AppendLine(CultureInfo.InvariantCulture, $"replay with: {ReliabilitySettings.ReplayCommand(options)} MESH_RELIABILITY_WORKERS={workers} MESH_RELIABILITY_KEYS={keyCount}");
                report.AppendLine(CultureInfo.InvariantCulture, $"operations: {ops} ({history.Count(o => !o.IsPending)} answered, {history.Count(o => o.IsPending)} unknown outcome); {string.Join(", ", history.GroupBy(o => o.Kind).OrderBy(g => g.Key).Select(g => $"{g.Key.ToString().ToLowerInvariant()} {g.Count()} ({g.Count(o => o.IsPending)} unknown)"))}");
                report.AppendLine(CultureInfo.InvariantCulture, $"faults applied: {string.Join(", ", cluster.Faults.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value}"))}; schedule steps {schedule.Steps.Count}");
                foreach (var tear in cluster.TearOutcomes)
                    report.AppendLine(CultureInfo.InvariantCulture, $"torn write: {tear}");
                report.AppendLine(CultureInfo.InvariantCulture, $"watches: {string.Join("; ", keyWatchers.Append(sessionWatcher).Select(w => $"{w.Name} {w.Segments.Sum(s => s.Events.Count)} events in {w.Segments.Count} segment(s), {w.Restarts} 410 restart(s), {w.Errors} errors, {w.Polls} polls, reached {w.Index}"))}; acked writes {acked.Count}; final index {finalIndex}");
                report.AppendLine(CultureInfo.InvariantCulture, $"sessions: live keep-alives {probe.KeepAlives} ok / {probe.KeepAliveErrors} failed, live reads {probe.LiveReads}; abandoned {probe.AbandonedCount}, expiry after abandon {Describe(probe.ExpiryDelays)}; sightings {probe.Sightings.Count}");
                var stalls = WriteStalls(history, cluster.Injections);
                report.AppendLine(CultureInfo.InvariantCulture, $"write stall after each fault (first write invoked after it and applied): {DescribeStalls(stalls)}");
                report.AppendLine(CultureInfo.InvariantCulture, $"linearizability: {linearizability}");
                report.AppendLine(CultureInfo.InvariantCulture, $"other checks: {(violations.Count == 0 ? "all passed" : $"{violations.Count} violation(s)")}");
                foreach (var v in violations)
                    report.AppendLine(CultureInfo.InvariantCulture, $"  {v}");
                if (linearizability.Verdict == Verdict.Illegal || violations.Count > 0)
                    report.Append(Window(recorder, linearizability, log));
                AppendSummary(name, options, history, cluster.Faults, violations, linearizability, stalls);
            }
            catch (Exception e)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"run aborted: {e}");
                for (var node = 0; node < cluster.Nodes; node++)
                    report.AppendLine(cluster.Output(node));
                throw;
            }
            finally
            {
                for (var node = 0; node < cluster.Nodes; node++)
                    await File.WriteAllTextAsync(Path.Combine(artifacts, $"node{node}.log"), cluster.Output(node));
                await File.WriteAllTextAsync(Path.Combine(artifacts, "report.txt"), report.ToString());
                await File.WriteAllLinesAsync(Path.Combine(artifacts, "nemesis.log"), log);
                await File.WriteAllLinesAsync(Path.Combine(artifacts, "history.txt"), recorder.ToHistory().Select(o => o.ToString()));
                await File.WriteAllLinesAsync(Path.Combine(artifacts, "rejected.txt"), rawClients.SelectMany(c => c.Rejections).Order());
                output.WriteLine(report.ToString());
            }
        }

        if (violations.Count == 0 && linearizability?.Verdict != Verdict.Illegal)
            Directory.Delete(dataRoot, recursive: true);
        else
            output.WriteLine($"data directories kept in {dataRoot}");
        Assert.True(linearizability?.Verdict != Verdict.Illegal, $"not linearizable (see {artifacts}):\n{linearizability}");
        Assert.True(violations.Count == 0, $"{violations.Count} violation(s) (see {artifacts}):\n{string.Join("\n", violations)}");
    }

    /// <summary>
    /// The key watchers' streams against the committed changes: an acknowledged change's index is
    /// certainly committed; an index a watcher delivered is committed if any other evidence agrees.
    /// Each segment must hold every index of that union in its range (so each watcher is checked
    /// against the acknowledged writes and against the other watcher), in order, once. Indexes
    /// only the watchers saw must be explainable by operations whose outcome is unknown.
    /// </summary>
    private static List<Violation> CheckWatches(IReadOnlyList<WatchRecorder> watchers, HashSet<long> acked, IReadOnlyList<Operation> history, long finalIndex, Action<string> log)
    {
        var violations = new List<Violation>();
        var delivered = watchers.SelectMany(w => w.Segments).SelectMany(s => s.Events).Select(e => e.Index).ToHashSet();
        var committed = new HashSet<long>(acked);
        committed.UnionWith(delivered);
        foreach (var segment in watchers.SelectMany(w => w.Segments))
            violations.AddRange(WatchStreamCheck.Check(segment, committed));

        var unexplained = delivered.Except(acked).Count();
        var unknownChanges = history.Count(o => o.IsPending && o.Kind != OpKind.Read);
        if (unexplained > unknownChanges)
            violations.Add(new Violation(WatchStreamCheck.Name, $"{unexplained} delivered indexes match no acknowledged change, but only {unknownChanges} changes had an unknown outcome"));
        foreach (var watcher in watchers.Where(w => w.Index < finalIndex))
            violations.Add(new Violation(WatchStreamCheck.Name, $"watch '{watcher.Name}' reached only index {watcher.Index}, not the final {finalIndex}, within 20 s of the heal"));
        log($"watch check: {delivered.Count} distinct indexes delivered, {acked.Count} acknowledged changes, {unexplained} from unknown-outcome changes (of {unknownChanges})");
        return violations;
    }

    /// <summary>The history and nemesis log around the first operation the checks blame, for the report.</summary>
    private static string Window(HistoryRecorder recorder, CheckResult linearizability, IEnumerable<string> nemesisLog)
    {
        var text = new StringBuilder();
        var blocked = linearizability.Explanations.FirstOrDefault()?.Blocked;
        var events = recorder.Events;
        if (blocked is not null)
        {
            var span = Stopwatch.Frequency * 3; // ±3 s
            text.AppendLine(CultureInfo.InvariantCulture, $"history of '{blocked.Key}' within 3 s of #{blocked.Id}:");
            foreach (var op in recorder.ToHistory().Where(o => o.Key == blocked.Key && Math.Abs(o.Invoked - blocked.Invoked) < span))
                text.AppendLine(CultureInfo.InvariantCulture, $"  {op}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"nemesis log ({events.Count} history events recorded):");
        foreach (var line in nemesisLog.Where(l => l.Contains("nemesis", StringComparison.Ordinal)))
            text.AppendLine(CultureInfo.InvariantCulture, $"  {line}");
        return text.ToString();
    }

    private static string Describe(IReadOnlyList<TimeSpan> delays) =>
        delays.Count == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture,
            $"min {delays.Min().TotalSeconds:0.0} s / median {delays.Order().ElementAt(delays.Count / 2).TotalSeconds:0.0} s / max {delays.Max().TotalSeconds:0.0} s over {delays.Count}");

    private static async Task IgnoreCancellation(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    /// <summary>
    /// For each fault applied, how long until the first write invoked after it was applied:
    /// how long writers stalled. Per fault kind, in seconds.
    /// </summary>
    private static Dictionary<string, List<double>> WriteStalls(IReadOnlyList<Operation> history, IReadOnlyList<(string Kind, long At)> injections)
    {
        var applied = history.Where(o => o.Kind != OpKind.Read && o.Outcome == OpOutcome.Ok && o.Completed is not null)
            .OrderBy(o => o.Invoked).ToArray();
        var stalls = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        foreach (var (kind, at) in injections)
        {
            var first = applied.Where(o => o.Invoked >= at).Select(o => o.Completed!.Value).DefaultIfEmpty(-1).Min();
            if (first < 0)
                continue;
            if (!stalls.TryGetValue(kind, out var list))
                stalls[kind] = list = [];
            list.Add(Stopwatch.GetElapsedTime(at, first).TotalSeconds);
        }
        return stalls;
    }

    private static string DescribeStalls(Dictionary<string, List<double>> stalls) =>
        stalls.Count == 0 ? "n/a" : string.Join("; ", stalls.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s =>
            string.Create(CultureInfo.InvariantCulture, $"{s.Key} median {Median(s.Value):0.00} s, max {s.Value.Max():0.00} s over {s.Value.Count}")));

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>One JSON line per run in artifacts/reliability/runs.jsonl, for summing up many seeded runs.</summary>
    private static void AppendSummary(string name, FaultScheduleOptions options, IReadOnlyList<Operation> history, IReadOnlyDictionary<string, int> faults,
        List<Violation> violations, CheckResult linearizability, Dictionary<string, List<double>> stalls)
    {
        var line = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["run"] = name,
            ["seed"] = options.Seed,
            ["duration"] = options.Duration.TotalSeconds,
            ["ops"] = history.Count,
            ["unknown"] = history.Count(o => o.IsPending),
            ["faults"] = faults.ToDictionary(f => f.Key, f => f.Value),
            ["linearizable"] = linearizability.Verdict.ToString(),
            ["violations"] = violations.Count,
            ["lostAcknowledgedWrites"] = violations.Count(v => v.Check == DurabilityCheck.Name),
            ["stalls"] = stalls,
        });
        var path = Path.Combine(Path.GetDirectoryName(ArtifactsRoot())!, "runs.jsonl");
        File.AppendAllText(path, line + "\n");
    }

    private static string ArtifactsRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            dir = dir.Parent;
        var root = dir is null ? Path.GetTempPath() : Path.Combine(dir.FullName, "artifacts");
        return Path.Combine(root, "reliability", "x");
    }

    private static string ArtifactsDirectory(string name, int seed)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            dir = dir.Parent;
        var root = dir is null ? Path.GetTempPath() : Path.Combine(dir.FullName, "artifacts");
        var path = Path.Combine(root, "reliability", $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-seed{seed}");
        Directory.CreateDirectory(path);
        return path;
    }
}
