using System.Diagnostics;
using System.Globalization;
using Mesh.Registry.Contracts;

namespace Mesh.RegistryBench;

public static partial class BenchRunner
{
    private sealed partial class Bench
    {
        /// <summary>How many streams are being opened at once: a real fleet does not connect in one burst either, and a burst overflows the listen backlog.</summary>
        private const int OpenConcurrency = 64;

        /// <summary>The quiet window before the rounds: one progress interval of the nodes' default.</summary>
        private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(5);

        /// <summary>
        /// <paramref name="watchers"/> streaming watches (<c>GET /v1/watch-stream?path=P</c>), each on its own
        /// connection as one simulated client, spread round-robin over the nodes. Per round the node is set
        /// once, and each stream's record of that index is timed from the set's acknowledgment. A stream
        /// that breaks or is cut resumes after the last index it saw, as a client would; a record seen
        /// twice counts as repeated, a round's index not seen within 10 s as missed.
        /// </summary>
        /// <remarks>
        /// With <paramref name="withData"/> the streams ask for <c>data=true</c>: each record carries the node's data, and a progress mark follows it.
        /// With <paramref name="raw"/> each stream is read by a <see cref="RawWatchStream"/> instead of the client library's reader
        /// under HttpClient: the same checks on every record, less of the bench's own CPU on the cores it shares with the nodes.
        /// </remarks>
        public async Task<TestResult> StreamFanOutAsync(int watchers, int rounds, CancellationToken ct, bool withData = false, bool raw = false)
        {
            using var writer = new RegistryClient(endpoints);
            var clients = endpoints.Select(_ => new RegistryClient(endpoints, TimeSpan.FromSeconds(30))).ToArray();
            var path = $"/bench/swatch-{_run}-{watchers}";
            var startIndex = await writer.CreateAsync(path, s_value, ct, parents: true).ConfigureAwait(false);
            await SettleAsync(writer, path, ct).ConfigureAwait(false);

            var usage = new NodeUsage(pids);
            var rssIdle = usage.Rss();
            var wakeIndex = new long[watchers];
            var wakeTicks = new long[watchers];
            var ready = new int[watchers];
            long errors = 0, repeated = 0, reconnects = 0;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var opening = new SemaphoreSlim(OpenConcurrency);
            var query = "path=" + Uri.EscapeDataString(path) + (withData ? "&data=true" : "");

            async Task Watcher(int w)
            {
                var ep = endpoints[w % endpoints.Length];
                var c = clients[w % clients.Length];
                var after = startIndex;
                var first = true;
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await opening.WaitAsync(stop.Token).ConfigureAwait(false);
                        var streamQuery = $"{query}&after={after.ToString(CultureInfo.InvariantCulture)}";
                        if (raw)
                        {
                            RawWatchStream stream;
                            try
                            {
                                stream = await RawWatchStream.OpenAsync(ep, streamQuery, path, stop.Token).ConfigureAwait(false);
                            }
                            finally
                            {
                                opening.Release();
                            }

                            using (stream)
                            {
                                while (await stream.ReadAsync(stop.Token).ConfigureAwait(false) is { } record && OnRecord(record.Kind, record.Index, record.OfPath))
                                {
                                }
                            }
                        }
                        else
                        {
                            HttpResponseMessage resp;
                            try
                            {
                                resp = await c.OpenWatchStreamAsync(ep, streamQuery, stop.Token).ConfigureAwait(false);
                            }
                            finally
                            {
                                opening.Release();
                            }

                            using (resp)
                            {
                                // The client library's reader, as a sidecar's stream reads its records.
                                var reader = new Mesh.Registry.Client.WatchRecordReader(await resp.Content.ReadAsStreamAsync(stop.Token).ConfigureAwait(false));
                                while ((reader.TryRead(out var buffered) ? buffered : await reader.ReadAsync(stop.Token).ConfigureAwait(false)) is { } record
                                    && OnRecord(KindOf(record), record.Index, record.Path == path))
                                {
                                }
                            }
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception ex) when (!stop.IsCancellationRequested)
                    {
                        // Counted, and the stream reopened after its last index, as a client would.
                        if (Interlocked.Increment(ref errors) < 5)
                            Log($"stream error ({(first ? "opening" : "reading")}) {ex.Message}");
                        await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
                    }

                    first = false;
                    if (!stop.IsCancellationRequested)
                        Interlocked.Increment(ref reconnects);
                }

                // One record of watcher w's stream; false: the node ended the stream (resume after `after`).
                bool OnRecord(RawRecordKind kind, long index, bool ofPath)
                {
                    var t = Stopwatch.GetTimestamp();
                    switch (kind)
                    {
                        case RawRecordKind.Progress:
                            Volatile.Write(ref ready[w], 1);
                            after = Math.Max(after, index);
                            return true;
                        case RawRecordKind.Resume:
                            after = Math.Max(after, index);
                            return false;
                        case RawRecordKind.Change when ofPath:
                            if (index <= Volatile.Read(ref wakeIndex[w]))
                            {
                                Interlocked.Increment(ref repeated);
                                return true;
                            }

                            Volatile.Write(ref wakeTicks[w], t);
                            Volatile.Write(ref wakeIndex[w], index);
                            after = index;
                            return true;
                        default:
                            return true;
                    }
                }
            }

            var openSw = Stopwatch.StartNew();
            var tasks = Enumerable.Range(0, watchers).Select(w => Task.Run(() => Watcher(w), CancellationToken.None)).ToArray();
            var openDeadline = Stopwatch.GetTimestamp() + (180 * Stopwatch.Frequency);
            while (ready.Contains(0) && Stopwatch.GetTimestamp() < openDeadline)
                await Task.Delay(20, ct).ConfigureAwait(false);
            var openSeconds = openSw.Elapsed.TotalSeconds;
            var notOpen = ready.Count(r => r == 0);
            Log($"{watchers - notOpen} of {watchers} streams open in {openSeconds:F1} s");
            await Task.Delay(500, ct).ConfigureAwait(false);
            usage.Sample();
            var rssOpen = usage.Rss();
            // What the nodes spend with every stream open and nothing changing (heartbeats, progress
            // ticks), over one progress interval: taken off the rounds' CPU for the cost per delivery.
            var quiet = new NodeUsage(pids);
            var quietSw = Stopwatch.StartNew();
            await Task.Delay(QuietWindow, ct).ConfigureAwait(false);
            var quietCpuPerS = quiet.CpuSeconds() / quietSw.Elapsed.TotalSeconds;

            var cpuUsage = new NodeUsage(pids);
            var selfCpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var selfSys0 = Process.GetCurrentProcess().PrivilegedProcessorTime.TotalSeconds;
            var sw = Stopwatch.StartNew();
            var lat = new LatencyRecorder(watchers * rounds);
            var fromSend = new LatencyRecorder(watchers * rounds);
            var writeLat = new LatencyRecorder(rounds);
            var missed = 0L;
            try
            {
                for (var round = 0; round < rounds; round++)
                {
                    await Task.Delay(200, ct).ConfigureAwait(false);
                    var sent = Stopwatch.GetTimestamp();
                    var idx = await SetThroughLeaderChangesAsync(writer, path, ct).ConfigureAwait(false);
                    var acked = Stopwatch.GetTimestamp();
                    writeLat.Add(acked - sent);

                    missed += await TallyRoundAsync(wakeIndex, wakeTicks, idx, sent, acked, lat, fromSend, cpuUsage.Sample, ct).ConfigureAwait(false);
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
            var selfCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - selfCpu0;
            var selfSys = Process.GetCurrentProcess().PrivilegedProcessorTime.TotalSeconds - selfSys0;
            var r = lat.ToResult($"watch-stream watchers={watchers}{(withData ? " data" : "")}", elapsed) with { Errors = errors + missed + notOpen };
            var s = fromSend.ToResult("x", elapsed);
            r.Extra["watchers"] = watchers;
            r.Extra["rounds"] = rounds;
            r.Extra["missed"] = missed;
            r.Extra["repeated"] = Interlocked.Read(ref repeated);
            r.Extra["not_open"] = notOpen;
            r.Extra["reconnects"] = Interlocked.Read(ref reconnects);
            r.Extra["open_s"] = openSeconds;
            r.Extra["send_to_wake_p50_ms"] = s.P50Ms;
            r.Extra["send_to_wake_p99_ms"] = s.P99Ms;
            r.Extra["write_p50_ms"] = writeLat.ToResult("x", elapsed).P50Ms;
            r.Extra["client_cpu_s"] = selfCpu;
            cpuUsage.Report(r.Extra, elapsed);
            var deliveries = (double)watchers * rounds;
            r.Extra["server_quiet_cpu_per_s"] = quietCpuPerS;
            r.Extra["server_us_per_delivery"] = r.Extra["server_cpu_s"] * 1e6 / deliveries;
            r.Extra["server_us_per_delivery_net"] = (r.Extra["server_cpu_s"] - (quietCpuPerS * elapsed)) * 1e6 / deliveries;
            r.Extra["client_us_per_delivery"] = selfCpu * 1e6 / deliveries;
            // The kernel's share of each end (the rounds' CPU, quiet rate included): what no change
            // above the socket can take off.
            r.Extra["server_sys_us_per_delivery"] = r.Extra["server_sys_cpu_s"] * 1e6 / deliveries;
            r.Extra["client_sys_us_per_delivery"] = selfSys * 1e6 / deliveries;
            foreach (var (id, idle) in rssIdle)
                r.Extra[$"n{id}_rss_idle_mib"] = idle;
            var held = rssOpen.Sum(kv => kv.Value - rssIdle[kv.Key]);
            r.Extra["rss_per_stream_kib"] = watchers > 0 ? held * 1024 / watchers : double.NaN;
            Report(r);
            return r;
        }

        private static RawRecordKind KindOf(WatchStreamRecord record) => record.Type switch
        {
            WatchStreamRecord.Progress => RawRecordKind.Progress,
            WatchStreamRecord.Resume => RawRecordKind.Resume,
            _ when record.IsChange => RawRecordKind.Change,
            _ => RawRecordKind.Other,
        };

        /// <summary>
        /// The round's write, again when the leader moved under it (503, or 504 with the outcome
        /// unknown: a second write then makes a later index, which the round waits for): on a
        /// saturated machine an election during the rounds would otherwise end the whole shape.
        /// </summary>
        private async Task<long> SetThroughLeaderChangesAsync(RegistryClient writer, string path, CancellationToken ct)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await writer.SetAsync(path, s_value, ct).ConfigureAwait(false);
                }
                catch (HttpRequestException e) when (attempt < 5 && e.StatusCode is System.Net.HttpStatusCode.ServiceUnavailable or System.Net.HttpStatusCode.GatewayTimeout)
                {
                    Log($"round write: {e.Message}; again");
                    await Task.Delay(200, ct).ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// One round's wake-ups: waits (at most 10 s) until every watcher saw index <paramref name="idx"/>, then records
        /// each one's time from the acknowledgment and from the send; returns how many never saw it.
        /// </summary>
        private static async Task<long> TallyRoundAsync(long[] wakeIndex, long[] wakeTicks, long idx, long sent, long acked,
            LatencyRecorder lat, LatencyRecorder fromSend, Action sample, CancellationToken ct)
        {
            var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
            while (wakeIndex.Any(x => x < idx) && Stopwatch.GetTimestamp() < deadline)
                await Task.Delay(2, ct).ConfigureAwait(false);
            sample();
            var missed = 0L;
            for (var w = 0; w < wakeIndex.Length; w++)
            {
                if (Volatile.Read(ref wakeIndex[w]) < idx)
                {
                    missed++;
                    continue;
                }

                var t = Volatile.Read(ref wakeTicks[w]);
                lat.Add(Math.Max(0, t - acked)); // a watcher can see the change before the writer reads the ack
                fromSend.Add(t - sent);
            }

            return missed;
        }
    }
}
