using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Mesh.RegistryBench;

/// <summary>
/// Load shapes against a Mesh registry cluster, mirroring the shared zkbench/etcdbench clients:
/// <code>
///   seq N                         one client, N sequential 100-byte creates (after 100 warm-up writes)
///   rseq N [stale]                one client, N sequential reads of one 100-byte node
///   cwrite CLIENTS OUTST SECS     CLIENTS clients x OUTST outstanding creates, 1 s warm-up then SECS measured
///   read CLIENTS OUTST SECS [stale]
///   probe SECS [DEADLINE_MS]      a create every ~5 ms; prints "ok EPOCHMS LATMS" / "err EPOCHMS CODE"
///   failover                      probe + kill -9 of the leader (needs --pids); prints a FAILOVER line
///   watch WATCHERS ROUNDS         WATCHERS long-polls on one node; per round one set, ack -> each wake-up
///   churn WATCHERS ROUNDS         the same, recursive on a service while instances register and leave
///   swatch WATCHERS ROUNDS [data] WATCHERS streaming watches (/v1/watch-stream, one connection each) spread over
///                                 the nodes; per round one set, ack -> each stream's record; per-node RSS and CPU
///                                 (data: the streams ask for data=true, records with the node's data;
///                                 raw: each stream read off its socket by RawWatchStream, not HttpClient and the client library)
///   sidecars SECS [--sidecars N]  N simulated sidecars (session, keep-alives, registration, one watch stream,
///                                 certificate renewals) for SECS; change -> every sidecar saw it (BenchRunner.Sidecars.cs)
///   suite [--quick]               all of the above in order (failover last, only with --pids)
/// options: --endpoints URL,URL,...  (default the three local nodes 7001-7003)
///          --pids ID=PID,...        registry processes: CPU/RSS during watch, the kill in failover
///          --json FILE              also write the results as JSON
///          --warmup SECS            warm-up before measured windows (default 1)
/// </code>
/// Every RESULT line has the fields summarize.py parses; "errors=N" precedes it.
/// </summary>
public static partial class BenchRunner
{
    private static readonly byte[] s_value = [.. Enumerable.Repeat((byte)'x', 100)];

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken ct = default)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--quick")
                options["quick"] = "true";
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
                options[args[i][2..]] = args[++i];
            else
                positional.Add(args[i]);
        }

        if (positional.Count == 0)
        {
            output.WriteLine("usage: Mesh.RegistryBench [--endpoints URL,...] [--pids ID=PID,...] [--json FILE] seq|rseq|cwrite|read|probe|failover|watch|churn|swatch|sidecars|suite ARGS");
            return 2;
        }

        var endpoints = (options.GetValueOrDefault("endpoints") ?? "http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var pids = ParsePids(options.GetValueOrDefault("pids"));
        var warmup = double.Parse(options.GetValueOrDefault("warmup") ?? "1", CultureInfo.InvariantCulture);
        var run = new Bench(endpoints, pids, warmup, output);
        var p = positional;
        int Int(int i) => int.Parse(p[i], CultureInfo.InvariantCulture);
        double Dbl(int i) => double.Parse(p[i], CultureInfo.InvariantCulture);
        bool Stale(int i) => p.Count > i && p[i] is "stale" or "serializable";

        var results = new List<TestResult>();
        switch (p[0])
        {
            case "seq": results.Add(await run.SequentialWritesAsync(Int(1), ct).ConfigureAwait(false)); break;
            case "rseq": results.Add(await run.SequentialReadsAsync(Int(1), Stale(2), ct).ConfigureAwait(false)); break;
            case "cwrite": results.Add(await run.ConcurrentAsync(true, Int(1), Int(2), Dbl(3), false, ct).ConfigureAwait(false)); break;
            case "read": results.Add(await run.ConcurrentAsync(false, Int(1), Int(2), Dbl(3), Stale(4), ct).ConfigureAwait(false)); break;
            case "probe": await run.ProbeAsync(Dbl(1), p.Count > 2 ? Int(2) : 200, ct).ConfigureAwait(false); break;
            case "failover": results.Add(await run.FailoverAsync(p.Count > 1 ? Dbl(1) : 3, p.Count > 2 ? Dbl(2) : 8, ct).ConfigureAwait(false)); break;
            case "watch": results.Add(await run.WatchFanOutAsync(Int(1), Int(2), ct).ConfigureAwait(false)); break;
            case "churn": results.Add(await run.WatchFanOutAsync(Int(1), Int(2), ct, churn: true).ConfigureAwait(false)); break;
            case "swatch": results.Add(await run.StreamFanOutAsync(Int(1), Int(2), ct, p.Skip(3).Contains("data"), p.Skip(3).Contains("raw")).ConfigureAwait(false)); break;
            case "sidecars": results.Add(await run.SidecarsAsync(SidecarShape.From(p, options), ct).ConfigureAwait(false)); break;
            case "suite": results.AddRange(await run.SuiteAsync(options.ContainsKey("quick"), ct).ConfigureAwait(false)); break;
            default:
                output.WriteLine($"unknown mode {p[0]}");
                return 2;
        }

        if (options.GetValueOrDefault("json") is { } json)
            await WriteJsonAsync(json, results, ct).ConfigureAwait(false);
        return results.Any(r => r.Errors > 0 && !r.Name.StartsWith("failover", StringComparison.Ordinal)) ? 1 : 0;
    }

    private static Dictionary<int, int> ParsePids(string? s) =>
        (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(x => x.Split('='))
            .ToDictionary(x => int.Parse(x[0], CultureInfo.InvariantCulture), x => int.Parse(x[1], CultureInfo.InvariantCulture));

    private static async Task WriteJsonAsync(string file, List<TestResult> results, CancellationToken ct)
    {
        var doc = new
        {
            system = "mesh",
            date = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            machine = Environment.MachineName,
            cores = Environment.ProcessorCount,
            tests = results.Select(r => new
            {
                name = r.Name,
                ops = r.Ops,
                secs = r.Seconds,
                opsPerSec = r.OpsPerSecond,
                p50Ms = r.P50Ms,
                p90Ms = r.P90Ms,
                p99Ms = r.P99Ms,
                maxMs = r.MaxMs,
                errors = r.Errors,
                extra = r.Extra,
            }),
        };
        var dir = Path.GetDirectoryName(Path.GetFullPath(file));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(doc, new JsonSerializerOptions
        {
            WriteIndented = true,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }), ct).ConfigureAwait(false);
    }

    private sealed partial class Bench(string[] endpoints, Dictionary<int, int> pids, double warmupSeconds, TextWriter output)
    {
        private readonly string _run = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString("x", CultureInfo.InvariantCulture);

        private void Report(TestResult r)
        {
            lock (output)
            {
                output.WriteLine($"errors={r.Errors}");
                output.WriteLine(r.ToResultLine());
                if (r.Extra.Count > 0)
                {
                    output.WriteLine("EXTRA " + r.Name.Split(' ')[0] + " " + string.Join(' ',
                        r.Extra.Select(kv => kv.Key + "=" + kv.Value.ToString("0.###", CultureInfo.InvariantCulture))));
                }

                output.Flush();
            }
        }

        private void Log(string line)
        {
            lock (output)
            {
                output.WriteLine(line);
                output.Flush();
            }
        }

        /// <summary>Waits until every endpoint serves <paramref name="path"/> from its local state (opens a connection to each).</summary>
        private async Task SettleAsync(RegistryClient c, string path, CancellationToken ct)
        {
            foreach (var ep in endpoints)
            {
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        await c.ReadAsync(path, true, ct, ep).ConfigureAwait(false);
                        break;
                    }
                    catch (HttpRequestException) when (attempt < 500)
                    {
                        await Task.Delay(10, ct).ConfigureAwait(false);
                    }
                }
            }
        }

        public async Task<List<TestResult>> SuiteAsync(bool quick, CancellationToken ct)
        {
            var r = new List<TestResult>();
            double secs = quick ? 1 : 10;
            r.Add(await SequentialWritesAsync(quick ? 200 : 2000, ct).ConfigureAwait(false));
            r.Add(await ConcurrentAsync(true, 1, 32, secs, false, ct).ConfigureAwait(false));
            r.Add(await ConcurrentAsync(true, 8, 4, secs, false, ct).ConfigureAwait(false));
            r.Add(await SequentialReadsAsync(quick ? 200 : 2000, false, ct).ConfigureAwait(false));
            r.Add(await SequentialReadsAsync(quick ? 200 : 2000, true, ct).ConfigureAwait(false));
            r.Add(await ConcurrentAsync(false, 1, 32, secs, false, ct).ConfigureAwait(false));
            r.Add(await ConcurrentAsync(false, 1, 32, secs, true, ct).ConfigureAwait(false));
            r.Add(await WatchFanOutAsync(100, quick ? 3 : 10, ct).ConfigureAwait(false));
            if (!quick)
                r.Add(await WatchFanOutAsync(1000, 5, ct).ConfigureAwait(false));
            if (pids.Count > 0)
                r.Add(await FailoverAsync(quick ? 1 : 3, quick ? 4 : 8, ct).ConfigureAwait(false));
            return r;
        }

        public async Task<TestResult> SequentialWritesAsync(int n, CancellationToken ct)
        {
            using var c = new RegistryClient(endpoints);
            var b = $"/bench/seq-{_run}";
            await c.SetupCreateAsync(b, s_value, ct, parents: true).ConfigureAwait(false);
            for (var i = 0; i < 100; i++)
                await c.SetupCreateAsync($"{b}/w{i}", s_value, ct).ConfigureAwait(false);
            var lat = new LatencyRecorder(n);
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                var s = Stopwatch.GetTimestamp();
                try
                {
                    await c.CreateAsync($"{b}/k{i}", s_value, ct).ConfigureAwait(false);
                    lat.Add(Stopwatch.GetTimestamp() - s);
                }
                catch (HttpRequestException e)
                {
                    lat.AddError();
                    Log("error " + e.Message);
                }
            }

            var r = lat.ToResult("seq", sw.Elapsed.TotalSeconds);
            Report(r);
            return r;
        }

        public async Task<TestResult> SequentialReadsAsync(int n, bool stale, CancellationToken ct)
        {
            using var c = new RegistryClient(endpoints);
            var b = $"/bench/rseq-{_run}-{(stale ? "s" : "l")}";
            await c.SetupCreateAsync(b, s_value, ct, parents: true).ConfigureAwait(false);
            await SettleAsync(c, b, ct).ConfigureAwait(false);
            for (var i = 0; i < 100; i++)
                await c.ReadAsync(b, stale, ct).ConfigureAwait(false);
            var lat = new LatencyRecorder(n);
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                var s = Stopwatch.GetTimestamp();
                try
                {
                    await c.ReadAsync(b, stale, ct).ConfigureAwait(false);
                    lat.Add(Stopwatch.GetTimestamp() - s);
                }
                catch (HttpRequestException e)
                {
                    lat.AddError();
                    Log("error " + e.Message);
                }
            }

            var r = lat.ToResult(stale ? "rseq stale" : "rseq", sw.Elapsed.TotalSeconds);
            Report(r);
            return r;
        }

        public async Task<TestResult> ConcurrentAsync(bool write, int clients, int outstanding, double secs, bool stale, CancellationToken ct)
        {
            var cs = Enumerable.Range(0, clients).Select(_ => new RegistryClient(endpoints)).ToArray();
            try
            {
                var mode = write ? "cwrite" : "read";
                var b = $"/bench/{mode}-{_run}-{clients}x{outstanding}{(stale ? "s" : "")}";
                await cs[0].SetupCreateAsync(b, s_value, ct, parents: true).ConfigureAwait(false);
                foreach (var c in cs)
                    await SettleAsync(c, b, ct).ConfigureAwait(false);

                var lat = new LatencyRecorder(20_000_000);
                long seq = 0;
                var warmEnd = Stopwatch.GetTimestamp() + (long)(warmupSeconds * Stopwatch.Frequency);
                var end = warmEnd + (long)(secs * Stopwatch.Frequency);

                async Task Worker(RegistryClient c)
                {
                    while (true)
                    {
                        var s = Stopwatch.GetTimestamp();
                        if (s >= end)
                            return;
                        try
                        {
                            if (write)
                                await c.CreateAsync($"{b}/k{Interlocked.Increment(ref seq)}", s_value, ct).ConfigureAwait(false);
                            else
                                await c.ReadAsync(b, stale, ct).ConfigureAwait(false);
                            var e = Stopwatch.GetTimestamp();
                            if (s >= warmEnd && e < end)
                                lat.Add(e - s);
                        }
                        catch (HttpRequestException ex)
                        {
                            lat.AddError();
                            if (lat.Errors < 5)
                                Log("error " + ex.Message);
                        }
                    }
                }

                await Task.WhenAll(cs.SelectMany(c => Enumerable.Range(0, outstanding).Select(_ => Task.Run(() => Worker(c), ct)))).ConfigureAwait(false);
                var r = lat.ToResult($"{mode}{(stale ? " stale" : "")} clients={clients} outstanding={outstanding}", secs);
                Report(r);
                return r;
            }
            finally
            {
                foreach (var c in cs)
                    c.Dispose();
            }
        }

        /// <summary>Sequential creates every ~5 ms with a per-write deadline, round-robin over the endpoints.</summary>
        public async Task ProbeAsync(double secs, int deadlineMs, CancellationToken ct)
        {
            var oks = new List<(long Ms, double Lat)>();
            await ProbeLoopAsync(TimeSpan.FromSeconds(secs), deadlineMs, oks, line => Log(line), null, ct).ConfigureAwait(false);
        }

        private async Task<long> ProbeLoopAsync(TimeSpan duration, int deadlineMs, List<(long Ms, double Lat)> oks, Action<string>? print,
            Func<bool>? stop, CancellationToken ct)
        {
            using var c = new RegistryClient(endpoints, TimeSpan.FromSeconds(30));
            var b = $"/bench/probe-{_run}-{Environment.TickCount64}";
            await c.SetupCreateAsync(b, s_value, ct, parents: true).ConfigureAwait(false);
            var endAt = DateTimeOffset.UtcNow + duration;
            long i = 0, errors = 0;
            while (DateTimeOffset.UtcNow < endAt && !(stop?.Invoke() ?? false))
            {
                var s = Stopwatch.GetTimestamp();
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(deadlineMs);
                try
                {
                    await c.CreateAsync($"{b}/k{i++}", s_value, cts.Token).ConfigureAwait(false);
                    var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                    var lat = LatencyRecorder.ToMs(Stopwatch.GetTimestamp() - s);
                    lock (oks)
                        oks.Add((now, lat));
                    print?.Invoke(string.Format(CultureInfo.InvariantCulture, "ok {0} {1:F3}", now, lat));
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
                {
                    errors++;
                    var code = e is HttpRequestException h ? (h.StatusCode?.ToString() ?? h.HttpRequestError.ToString()) : "DeadlineExceeded";
                    print?.Invoke($"err {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} {code}");
                }

                await Task.Delay(5, ct).ConfigureAwait(false);
            }

            return errors;
        }

        /// <summary>
        /// Probe writes (200 ms deadline) while the leader is killed with SIGKILL after <paramref name="before"/> s;
        /// reports kill → first successful write and the largest gap between successful writes.
        /// </summary>
        public async Task<TestResult> FailoverAsync(double before, double after, CancellationToken ct)
        {
            if (pids.Count == 0)
                throw new InvalidOperationException("failover needs --pids ID=PID,...");
            using var c = new RegistryClient(endpoints);
            int? leader = null;
            for (var attempt = 0; attempt < 50 && leader is null; attempt++)
            {
                foreach (var ep in endpoints)
                {
                    if (await c.StatusAsync(ep, ct).ConfigureAwait(false) is { Role: "leader" } st)
                        leader = st.Id;
                }

                if (leader is null)
                    await Task.Delay(100, ct).ConfigureAwait(false);
            }

            if (leader is not int id || !pids.TryGetValue(id, out var pid))
                throw new InvalidOperationException("no leader found among " + string.Join(',', endpoints));

            var oks = new List<(long Ms, double Lat)>();
            long killMs = 0;
            var killed = false;
            var probe = ProbeLoopAsync(TimeSpan.FromSeconds(before + after), 200, oks, null,
                () =>
                {
                    // stop early once writes have flowed again for 1 s after the kill
                    if (!killed)
                        return false;
                    lock (oks)
                        return oks.Count > 0 && oks[^1].Ms - killMs > 1000 && oks.Count(o => o.Ms > killMs) > 100;
                }, ct);
            await Task.Delay(TimeSpan.FromSeconds(before), ct).ConfigureAwait(false);
            killMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            using (var p = Process.GetProcessById(pid))
                p.Kill();
            killed = true;
            var errors = await probe.ConfigureAwait(false);

            (long Ms, double Lat)[] all;
            lock (oks)
                all = [.. oks];
            var firstAfter = all.FirstOrDefault(o => o.Ms - o.Lat >= killMs);
            var firstOk = firstAfter.Ms == 0 ? double.NaN : firstAfter.Ms - killMs;
            var gaps = all.Zip(all.Skip(1), (a, b) => (Start: a.Ms, Gap: b.Ms - a.Ms)).ToArray();
            var maxGap = gaps.Length == 0 ? double.NaN : gaps.Where(g => g.Start >= killMs - 300).Select(g => (double)g.Gap).DefaultIfEmpty(double.NaN).Max();
            var r = new TestResult("failover", all.Length, before + after, double.NaN, firstOk, double.NaN, maxGap, maxGap, 0);
            r.Extra["kill_to_first_ok_ms"] = firstOk;
            r.Extra["max_gap_ms"] = maxGap;
            r.Extra["timeouts_after_kill"] = errors;
            r.Extra["killed_id"] = id;
            Log(string.Format(CultureInfo.InvariantCulture,
                "FAILOVER mesh killed=n{0} sig=KILL tkill={1} kill_to_first_ok_ms={2} kill_to_first_ok_started_after_kill_ms={2} outage_at_kill_ms={3} max_gap_ms={3} errors_after_kill={4} oks={5}",
                id, killMs, firstOk, maxGap, errors, all.Length));
            lock (output)
            {
                output.WriteLine("errors=0");
                output.WriteLine(r.ToResultLine());
                output.WriteLine(string.Format(CultureInfo.InvariantCulture, "EXTRA failover kill_to_first_ok_ms={0} max_gap_ms={1} timeouts_after_kill={2}", firstOk, maxGap, errors));
            }

            return r;
        }

        /// <summary>
        /// <paramref name="watchers"/> long-polls on one node, spread over the endpoints (one connection each);
        /// per round one set, and the time from the set's acknowledgment to each watcher's wake-up.
        /// </summary>
        /// <param name="churn">
        /// Instead of setting one node: watchers watch a service's subtree recursively while, round
        /// by round, an instance registers and the next round it leaves (create, then delete, of
        /// <c>.../instances/iN</c>), as sidecars watching a service see it.
        /// </param>
        public async Task<TestResult> WatchFanOutAsync(int watchers, int rounds, CancellationToken ct, bool churn = false)
        {
            using var writer = new RegistryClient(endpoints);
            var clients = endpoints.Select(_ => new RegistryClient(endpoints)).ToArray();
            var path = churn ? $"/bench/churn-{_run}-{watchers}" : $"/bench/watch-{_run}-{watchers}";
            var startIndex = await writer.CreateAsync(path, s_value, ct, parents: true).ConfigureAwait(false);
            // every node must have applied the create before watchers start from its index
            await SettleAsync(writer, path, ct).ConfigureAwait(false);

            var wakeIndex = new long[watchers];
            var wakeTicks = new long[watchers];
            var parkedAfter = new long[watchers];
            long errors = 0;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

            async Task Watcher(int w)
            {
                var ep = endpoints[w % endpoints.Length];
                var c = clients[w % clients.Length];
                var after = startIndex;
                while (!stop.IsCancellationRequested)
                {
                    Volatile.Write(ref parkedAfter[w], after);
                    try
                    {
                        var (idx, _) = await c.WatchAsync(ep, path, after, TimeSpan.FromSeconds(30), stop.Token, recursive: churn).ConfigureAwait(false);
                        var t = Stopwatch.GetTimestamp();
                        if (idx > after)
                        {
                            Volatile.Write(ref wakeTicks[w], t);
                            Volatile.Write(ref wakeIndex[w], idx);
                            after = idx;
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (HttpRequestException ex)
                    {
                        if (Interlocked.Increment(ref errors) < 5)
                            Log("watch error " + ex.Message);
                        await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
                    }
                }
            }

            for (var w = 0; w < watchers; w++)
                parkedAfter[w] = -1;
            var tasks = Enumerable.Range(0, watchers).Select(w => Task.Run(() => Watcher(w), CancellationToken.None)).ToArray();

            var cpu0 = pids.Values.Sum(ProcStat.CpuSeconds);
            var selfCpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var maxRss = 0.0;
            var sw = Stopwatch.StartNew();
            var lat = new LatencyRecorder(watchers * rounds);
            var fromSend = new LatencyRecorder(watchers * rounds);
            var writeLat = new LatencyRecorder(rounds);
            var lastIndex = startIndex;
            var missed = 0L;
            try
            {
                for (var round = 0; round < rounds; round++)
                {
                    // wait until every watcher has a poll out for the current index, then let the requests land
                    var parkDeadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
                    while (parkedAfter.Any(a => a != lastIndex) && Stopwatch.GetTimestamp() < parkDeadline)
                        await Task.Delay(10, ct).ConfigureAwait(false);
                    await Task.Delay(150 + (watchers / 5), ct).ConfigureAwait(false);
                    maxRss = Math.Max(maxRss, pids.Values.Sum(ProcStat.RssMiB));

                    var sent = Stopwatch.GetTimestamp();
                    var instance = $"{path}/instances/i{round / 2}";
                    var idx = !churn ? await writer.SetAsync(path, s_value, ct).ConfigureAwait(false)
                        : round % 2 == 0 ? await writer.CreateAsync(instance, s_value, ct, parents: true).ConfigureAwait(false)
                        : await writer.DeleteAsync(instance, ct).ConfigureAwait(false);
                    var acked = Stopwatch.GetTimestamp();
                    writeLat.Add(acked - sent);
                    lastIndex = idx;

                    missed += await TallyRoundAsync(wakeIndex, wakeTicks, idx, sent, acked, lat, fromSend,
                        () => maxRss = Math.Max(maxRss, pids.Values.Sum(ProcStat.RssMiB)), ct).ConfigureAwait(false);
                }
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await Task.WhenAll(tasks).ConfigureAwait(false);
                foreach (var c in clients)
                    c.Dispose();
            }

            var elapsed = sw.Elapsed.TotalSeconds;
            var cpu = pids.Values.Sum(ProcStat.CpuSeconds) - cpu0;
            var selfCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - selfCpu0;
            var r = lat.ToResult($"{(churn ? "watch-churn" : "watch")} watchers={watchers}", elapsed) with { Errors = errors + missed };
            var s = fromSend.ToResult("x", elapsed);
            var wl = writeLat.ToResult("x", elapsed);
            r.Extra["watchers"] = watchers;
            r.Extra["rounds"] = rounds;
            r.Extra["missed"] = missed;
            r.Extra["send_to_wake_p50_ms"] = s.P50Ms;
            r.Extra["send_to_wake_p99_ms"] = s.P99Ms;
            r.Extra["write_p50_ms"] = wl.P50Ms;
            r.Extra["server_cpu_s"] = cpu;
            r.Extra["server_cores"] = cpu / elapsed;
            r.Extra["server_rss_mib"] = maxRss;
            r.Extra["client_cpu_s"] = selfCpu;
            Report(r);
            return r;
        }
    }
}
