using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Mesh.Registry.Client;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using MeshClient = Mesh.Registry.Client.RegistryClient;

namespace Mesh.RegistryBench;

/// <summary>
/// The simulated-sidecar shape's parameters: <c>sidecars SECS [--sidecars N] [--services S]
/// [--upstreams U] [--renew-every SECS] [--join-token NS=TOKEN] [--session-ttl SECS] [--stream-data false]</c>
/// (the last: the watch stream without <c>data=true</c>, so every change is read, as before it).
/// </summary>
internal sealed record SidecarShape(int Sidecars, double Seconds, int Services, int Upstreams, TimeSpan RenewEvery, string Namespace, string JoinToken, TimeSpan SessionTtl)
{
    public bool StreamData { get; init; } = true;

    /// <summary>Half the mesh CA's default 24 h certificate lifetime: when a sidecar's CertificateRotator renews.</summary>
    public static readonly TimeSpan RealRenewal = TimeSpan.FromHours(12);

    public static SidecarShape From(List<string> positional, Dictionary<string, string> options)
    {
        var n = int.Parse(options.GetValueOrDefault("sidecars") ?? "1000", CultureInfo.InvariantCulture);
        var token = options.GetValueOrDefault("join-token") ?? "bench=bench-join-token-0123456789";
        var eq = token.IndexOf('=', StringComparison.Ordinal);
        if (n < 1 || eq <= 0)
            throw new ArgumentException("--sidecars needs a count of 1 or more and --join-token NAMESPACE=TOKEN");
        return new SidecarShape(
            n,
            positional.Count > 1 ? double.Parse(positional[1], CultureInfo.InvariantCulture) : 60,
            int.Parse(options.GetValueOrDefault("services") ?? Math.Max(1, n / 10).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            int.Parse(options.GetValueOrDefault("upstreams") ?? "3", CultureInfo.InvariantCulture),
            options.GetValueOrDefault("renew-every") is { } r ? TimeSpan.FromSeconds(double.Parse(r, CultureInfo.InvariantCulture)) : RealRenewal,
            token[..eq],
            token[(eq + 1)..],
            TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("session-ttl") ?? "10", CultureInfo.InvariantCulture)))
        {
            StreamData = bool.Parse(options.GetValueOrDefault("stream-data") ?? "true"),
        };
    }
}

public static partial class BenchRunner
{
    /// <summary>The service every simulated sidecar calls besides its own upstreams (an auth service, say): its instances come and go in the rounds.</summary>
    private const string SharedService = "shared";

    private sealed partial class Bench
    {
        /// <summary>
        /// N simulated sidecars, each what <c>mesh sidecar</c> does against the registry, through
        /// Mesh.Registry.Client itself: its own client (connection pool), the CA root and a workload
        /// certificate (CertificateRotator, join token), a session with keep-alives every TTL/3, its
        /// instance registered under the session, and the watches a sidecar makes, all on the
        /// client's one watch stream: its upstream services (the shared one and U-1 others), routes,
        /// policies and the trust bundle. Certificates are renewed at the real period (12 h, half the
        /// default lifetime) with a random phase per sidecar, so a run sees the steady-state rate.
        /// After start-up, rounds alternate a route change and an instance of the shared service
        /// registering or leaving, each timed from the write's acknowledgment to every sidecar having
        /// the new snapshot.
        /// </summary>
        public async Task<TestResult> SidecarsAsync(SidecarShape shape, CancellationToken ct)
        {
            using var writer = new RegistryClient(endpoints);
            var usage = new NodeUsage(pids);
            var rssIdle = usage.Rss();
            var cpuIdle0 = pids.Values.Sum(ProcStat.CpuSeconds);
            var sidecars = new SimulatedSidecar[shape.Sidecars];
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var failures = new ConcurrentQueue<string>();
            var startLat = new LatencyRecorder(shape.Sidecars);

            // Start-up: as a fleet rolling out, 32 at a time.
            var startSw = Stopwatch.StartNew();
            using (var gate = new SemaphoreSlim(32))
            {
                await Task.WhenAll(Enumerable.Range(0, shape.Sidecars).Select(async i =>
                {
                    await gate.WaitAsync(ct).ConfigureAwait(false);
                    try
                    {
                        var s = Stopwatch.GetTimestamp();
                        sidecars[i] = await SimulatedSidecar.StartAsync(i, shape, Rotated(i), stop.Token).ConfigureAwait(false);
                        startLat.Add(Stopwatch.GetTimestamp() - s);
                    }
                    catch (Exception e) when (e is RegistryException or HttpRequestException or InvalidOperationException or OperationCanceledException && !ct.IsCancellationRequested)
                    {
                        failures.Enqueue($"sidecar {i}: {e.Message}");
                    }
                    finally
                    {
                        gate.Release();
                    }
                })).ConfigureAwait(false);
            }

            var startSeconds = startSw.Elapsed.TotalSeconds;
            var live = sidecars.Where(s => s is not null).ToArray();
            Log($"{live.Length} of {shape.Sidecars} sidecars up in {startSeconds:F1} s; {failures.Count} failed{(failures.TryPeek(out var f) ? ": " + f : "")}");

            // Settle: every sidecar has its first snapshots, the start-up burst is over.
            var settle = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
            while (live.Any(s => !s.Ready) && Stopwatch.GetTimestamp() < settle)
                await Task.Delay(50, ct).ConfigureAwait(false);
            await Task.Delay(2000, ct).ConfigureAwait(false);
            var notReady = live.Count(s => !s.Ready);
            if (notReady > 0)
                Log($"{notReady} sidecars still lack a first snapshot of some watch after the settle");

            var steady = new NodeUsage(pids);
            var selfCpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var commit0 = await writer.CommitIndexAsync(ct).ConfigureAwait(false);
            var sw = Stopwatch.StartNew();
            var lat = new LatencyRecorder(live.Length * 1000);
            var routeLat = new LatencyRecorder(live.Length * 1000);
            var endpointLat = new LatencyRecorder(live.Length * 1000);
            var streamLat = new LatencyRecorder(live.Length * 1000);
            var readLat = new LatencyRecorder(live.Length * 1000);
            long missed = 0, rounds = 0, writeErrors = 0;
            // Changes a sidecar had not within the round's 10 s: looked at again after the last round (late, or never).
            var misses = new List<(SimulatedSidecar Sidecar, bool Route, string Marker, long Acked)>();
            var instance = 0;
            try
            {
                while (sw.Elapsed.TotalSeconds < shape.Seconds)
                {
                    await Task.Delay(1000, ct).ConfigureAwait(false);
                    var route = rounds % 2 == 0;
                    var sent = Stopwatch.GetTimestamp();
                    string marker;
                    try
                    {
                        if (route)
                        {
                            marker = $"r{rounds}";
                            await writer.SetupCreateAsync($"{ServicePaths.RoutesRoot}/bench-{_run}-{marker}", Encoding.UTF8.GetBytes("{}"), ct, parents: true).ConfigureAwait(false);
                        }
                        else if (rounds % 4 == 1)
                        {
                            marker = $"i{instance}";
                            await writer.SetupCreateAsync($"/services/{SharedService}/instances/{marker}", InstanceJson(marker), ct, parents: true).ConfigureAwait(false);
                        }
                        else
                        {
                            marker = $"-i{instance++}";
                            await writer.DeleteAsync($"/services/{SharedService}/instances/{marker[1..]}", ct).ConfigureAwait(false);
                        }
                    }
                    catch (HttpRequestException e)
                    {
                        // The cluster refused the round's write (no leader, overloaded): counted, and the next round goes on.
                        writeErrors++;
                        Log($"round {rounds}: the write failed: {e.Message}");
                        rounds++;
                        continue;
                    }

                    var acked = Stopwatch.GetTimestamp();
                    var deadline = acked + (10 * Stopwatch.Frequency);
                    Func<SimulatedSidecar, long> seen = route ? s => s.RouteSeen(marker) : s => s.SharedSeen(marker);
                    while (live.Any(s => seen(s) == 0) && Stopwatch.GetTimestamp() < deadline)
                        await Task.Delay(5, ct).ConfigureAwait(false);
                    steady.Sample();
                    foreach (var s in live)
                    {
                        var t = seen(s);
                        if (t == 0)
                        {
                            Log($"round {rounds} ({marker}): not seen within 10 s by {s.Describe()}");
                            misses.Add((s, route, marker, acked));
                            missed++;
                            continue;
                        }

                        var l = Math.Max(0, t - acked);
                        lat.Add(l);
                        (route ? routeLat : endpointLat).Add(l);
                        // Apart: acknowledged -> the stream's record read, and that record -> the snapshot (the read it caused).
                        if (s.StreamSeen(marker) is > 0 and var streamed)
                        {
                            streamLat.Add(Math.Max(0, streamed - acked));
                            readLat.Add(Math.Max(0, t - streamed));
                        }
                    }

                    rounds++;
                }

                var elapsed = sw.Elapsed.TotalSeconds;
                // A miss is a lost change only if it never arrives: give the late ones 10 s more.
                var lateDeadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
                while (misses.Any(m => SeenBy(m) == 0) && Stopwatch.GetTimestamp() < lateDeadline)
                    await Task.Delay(50, ct).ConfigureAwait(false);
                var never = misses.Count(m => SeenBy(m) == 0);
                foreach (var m in misses.Where(m => SeenBy(m) == 0))
                    Log($"{m.Marker} never seen by {m.Sidecar.Describe()}");
                var commit1 = await writer.CommitIndexAsync(ct).ConfigureAwait(false);
                var selfCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - selfCpu0;
                var r = lat.ToResult($"sidecars n={shape.Sidecars}", elapsed) with { Errors = missed + failures.Count + writeErrors };
                r.Extra["sidecars"] = live.Length;
                r.Extra["failed_start"] = failures.Count;
                r.Extra["rounds"] = rounds;
                r.Extra["missed"] = missed;
                r.Extra["missed_never"] = never;
                r.Extra["missed_late_max_ms"] = misses.Where(m => SeenBy(m) != 0).Select(m => (SeenBy(m) - m.Acked) * 1000.0 / Stopwatch.Frequency).DefaultIfEmpty(0).Max();
                r.Extra["not_ready"] = notReady;
                r.Extra["write_errors"] = writeErrors;
                r.Extra["start_s"] = startSeconds;
                r.Extra["start_p50_ms"] = startLat.ToResult("x", startSeconds).P50Ms;
                r.Extra["route_p99_ms"] = routeLat.ToResult("x", elapsed).P99Ms;
                r.Extra["endpoints_p99_ms"] = endpointLat.ToResult("x", elapsed).P99Ms;
                var streamStage = streamLat.ToResult("x", elapsed);
                var readStage = readLat.ToResult("x", elapsed);
                r.Extra["stream_p50_ms"] = streamStage.P50Ms;
                r.Extra["stream_p99_ms"] = streamStage.P99Ms;
                r.Extra["read_p50_ms"] = readStage.P50Ms;
                r.Extra["read_p99_ms"] = readStage.P99Ms;
                r.Extra["renewals"] = live.Sum(s => s.Renewals);
                r.Extra["watch_failures"] = live.Sum(s => s.WatchFailures);
                if (live.FirstOrDefault(s => s.LastWatchFailure is not null) is { } failed)
                    Log($"a watch failed: {failed.LastWatchFailure}");
                r.Extra["client_cpu_s"] = selfCpu;
                // Every replicated write (keep-alives, the rounds' writes, renewals, expiry checks) is one log entry.
                if (commit0 is { } c0 && commit1 is { } c1)
                    r.Extra["log_entries_per_s"] = (c1 - c0) / elapsed;
                steady.Report(r.Extra, elapsed);
                var rssHeld = steady.Rss().Sum(kv => kv.Value - rssIdle[kv.Key]);
                r.Extra["rss_per_sidecar_kib"] = rssHeld * 1024 / Math.Max(1, live.Length);
                r.Extra["cpu_ms_per_sidecar_s"] = r.Extra["server_cpu_s"] * 1000 / Math.Max(1, live.Length) / elapsed;
                r.Extra["startup_server_cpu_s"] = pids.Values.Sum(ProcStat.CpuSeconds) - cpuIdle0 - r.Extra["server_cpu_s"];
                Report(r);
                return r;
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                using var gate = new SemaphoreSlim(64);
                await Task.WhenAll(live.Select(async s =>
                {
                    await gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    try
                    {
                        await s.DisposeAsync().ConfigureAwait(false);
                    }
                    finally
                    {
                        gate.Release();
                    }
                })).ConfigureAwait(false);
            }


            static long SeenBy((SimulatedSidecar Sidecar, bool Route, string Marker, long Acked) m) =>
                m.Route ? m.Sidecar.RouteSeen(m.Marker) : m.Sidecar.SharedSeen(m.Marker);

            Func<TimeSpan> Rotated(int i) => () =>
            {
                // A random phase per sidecar: a fleet that has run for a while renews evenly spread.
                var phase = new Random(i ^ 0x5eed).NextDouble();
                return shape.RenewEvery * phase;
            };
        }

        private static byte[] InstanceJson(string id) =>
            Encoding.UTF8.GetBytes($$"""{"address":"127.0.0.2","port":8080,"weight":100,"version":"v1","zone":"","labels":{},"id":"{{id}}"}""");
    }

    /// <summary>One simulated sidecar: everything <c>mesh sidecar</c> asks of the registry, without the proxy.</summary>
    private sealed class SimulatedSidecar : IAsyncDisposable
    {
        private readonly MeshClient _client;
        private readonly CancellationTokenSource _stop;
        private readonly List<Task> _loops = [];
        private readonly ConcurrentDictionary<string, long> _routes = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, long> _shared = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, long> _streamed = new(StringComparer.Ordinal);
        private ImmutableHashSet<string> _sharedNow = [];
        private RegistrySession? _session;
        private ServiceRegistration? _registration;
        private CertificateRotator? _rotator;
        private int _snapshots;
        private int _renewals;
        private int _watchFailures;
        private readonly int _watchCount;

        private SimulatedSidecar(MeshClient client, int watches, CancellationToken stop)
        {
            _client = client;
            _watchCount = watches;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        }

        /// <summary>Every watch has delivered its first snapshot.</summary>
        public bool Ready => Volatile.Read(ref _snapshots) >= _watchCount;

        public int Renewals => Volatile.Read(ref _renewals);

        /// <summary>When a route document named by <paramref name="marker"/> first appeared in this sidecar's routes (ticks), or 0.</summary>
        public long RouteSeen(string marker)
        {
            foreach (var (name, t) in _routes)
            {
                if (name.EndsWith("-" + marker, StringComparison.Ordinal))
                    return t;
            }

            return 0;
        }

        /// <summary>When the shared service's set first had instance <paramref name="marker"/> (or, for "-id", first lacked it after having it), or 0.</summary>
        public long SharedSeen(string marker) => _shared.GetValueOrDefault(marker);

        public static async Task<SimulatedSidecar> StartAsync(int i, SidecarShape shape, Func<TimeSpan> firstRenewal, CancellationToken stop)
        {
            var all = Environment.GetEnvironmentVariable("MESH_EPS") ?? throw new InvalidOperationException("MESH_EPS is not set");
            var eps = all.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(e => new Uri(e)).ToArray();
            // Sidecars spread over the nodes (one address list per sidecar, rotated), as an operator spreads them.
            var mine = eps.Skip(i % eps.Length).Concat(eps.Take(i % eps.Length)).ToArray();
            var client = new MeshClient(new RegistryClientOptions { Endpoints = mine, Token = shape.JoinToken, StreamData = shape.StreamData });
            var service = $"svc{i % shape.Services}";
            var upstreams = new List<string> { SharedService };
            for (var k = 1; k < shape.Upstreams; k++)
                upstreams.Add($"svc{(i + (k * 7)) % shape.Services}");
            var sidecar = new SimulatedSidecar(client, upstreams.Count + 3, stop) { Id = i };
            try
            {
                await sidecar.RunAsync(i, shape, service, upstreams, firstRenewal()).ConfigureAwait(false);
                return sidecar;
            }
            catch
            {
                await sidecar.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        private async Task RunAsync(int i, SidecarShape shape, string service, List<string> upstreams, TimeSpan firstRenewal)
        {
            var token = _stop.Token;
            var root = await _client.GetCaRootAsync(token).ConfigureAwait(false);
            _rotator = CertificateRotator.ForRegistry(_client, shape.JoinToken, SpiffeId.Create(root.TrustDomain, shape.Namespace, service));
            await _rotator.StartAsync(token).ConfigureAwait(false);
            _loops.Add(RenewAsync(firstRenewal, shape.RenewEvery, token));

            _session = await RegistrySession.OpenAsync(_client, shape.SessionTtl, token).ConfigureAwait(false);
            _registration = await ServiceRegistration.RegisterAsync(_session, service, new ServiceInstance
            {
                Id = $"sc{i}",
                Address = "127.0.0.1",
                Port = 20000 + i,
                Version = "v1",
            }, token).ConfigureAwait(false);

            _client.Watcher.RecordRead = StreamRecordRead;
            foreach (var upstream in upstreams)
            {
                var shared = upstream == SharedService;
                _loops.Add(Consume(_client.WatchServiceAsync(upstream, token), set => { if (shared) SharedChanged(set); }));
            }

            _loops.Add(Consume(_client.WatchConfigAsync(ServicePaths.RoutesRoot, token), RoutesChanged));
            _loops.Add(Consume(_client.WatchConfigAsync(ServicePaths.PoliciesRoot, token), _ => { }));
            _loops.Add(Consume(_client.WatchTrustBundleAsync(token), _ => { }));
        }

        private async Task Consume<T>(IAsyncEnumerable<T> snapshots, Action<T> apply)
        {
            var first = true;
            try
            {
                await foreach (var snapshot in snapshots.ConfigureAwait(false))
                {
                    apply(snapshot);
                    if (first)
                        Interlocked.Increment(ref _snapshots);
                    first = false;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                // A watch that gave up (a real sidecar would report it unhealthy): counted.
                Interlocked.Increment(ref _watchFailures);
                LastWatchFailure = e.Message;
            }
        }

        public int WatchFailures => Volatile.Read(ref _watchFailures);

        public string? LastWatchFailure { get; private set; }

        private long _routesIndex;
        private long _sharedIndex;
        private int _routesSnapshots;
        private int _sharedSnapshots;

        public int Id { get; init; }

        /// <summary>What a sidecar that missed a change had: the index and count of its routes and shared-service snapshots.</summary>
        public string Describe() =>
            $"sidecar {Id} (first address {_client.Options.Endpoints[0]}, ready {Ready}, watch streams opened {_client.Watcher.Connections}): "
            + $"routes at index {Volatile.Read(ref _routesIndex)} after {Volatile.Read(ref _routesSnapshots)} snapshots, "
            + $"shared at index {Volatile.Read(ref _sharedIndex)} after {Volatile.Read(ref _sharedSnapshots)} snapshots [{string.Join(",", _sharedNow)}]";

        /// <summary>When the stream first told of a change to a node named <paramref name="marker"/> ("-NAME": its deletion), or 0: the stream's part of the delivery, apart from the read that follows.</summary>
        public long StreamSeen(string marker) => _streamed.GetValueOrDefault(marker);

        private void StreamRecordRead(WatchStreamRecord record)
        {
            if (record.Path is not { } path || record.Type == ChangeEvent.ChildrenChanged)
                return;
            var name = path[(path.LastIndexOf('/') + 1)..];
            // Route documents are bench-RUN-rN; the rounds name them by rN.
            if (name.LastIndexOf('-') is > 0 and var dash && name.StartsWith("bench-", StringComparison.Ordinal))
                name = name[(dash + 1)..];
            _streamed.TryAdd(record.Type == ChangeEvent.Deleted ? "-" + name : name, Stopwatch.GetTimestamp());
        }

        private void RoutesChanged(ConfigSnapshot snapshot)
        {
            Volatile.Write(ref _routesIndex, snapshot.Index);
            Interlocked.Increment(ref _routesSnapshots);
            var t = Stopwatch.GetTimestamp();
            foreach (var name in snapshot.Documents.Keys)
                _routes.TryAdd(name, t);
        }

        private void SharedChanged(EndpointSet set)
        {
            Volatile.Write(ref _sharedIndex, set.Index);
            Interlocked.Increment(ref _sharedSnapshots);
            var t = Stopwatch.GetTimestamp();
            var now = set.Instances.Select(x => x.Id).ToImmutableHashSet(StringComparer.Ordinal);
            foreach (var id in now)
                _shared.TryAdd(id, t);
            foreach (var gone in _sharedNow.Except(now))
                _shared.TryAdd("-" + gone, t);
            _sharedNow = now;
        }

        private async Task RenewAsync(TimeSpan first, TimeSpan every, CancellationToken token)
        {
            try
            {
                await Task.Delay(first, token).ConfigureAwait(false);
                while (true)
                {
                    await _rotator!.RenewNowAsync(token).ConfigureAwait(false);
                    Interlocked.Increment(ref _renewals);
                    await Task.Delay(every, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException)
            {
                // Counted by the absence of the renewal; the run's errors show in the registry's logs.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(_loops).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            // A sidecar going away deregisters and closes its session; a cluster that cannot take that now expires them later.
            try
            {
                if (_registration is not null)
                    await _registration.DisposeAsync().ConfigureAwait(false);
                if (_session is not null)
                    await _session.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException or TimeoutException)
            {
            }

            if (_rotator is not null)
                await _rotator.DisposeAsync().ConfigureAwait(false);
            _client.Dispose();
            _stop.Dispose();
        }
    }
}
