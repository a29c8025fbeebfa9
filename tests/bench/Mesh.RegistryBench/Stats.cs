using System.Diagnostics;
using System.Globalization;

namespace Mesh.RegistryBench;

/// <summary>One test's numbers, printed as a RESULT line (the format the peer clients and summarize.py use).</summary>
public sealed record TestResult(string Name, long Ops, double Seconds, double OpsPerSecond, double P50Ms, double P90Ms, double P99Ms, double MaxMs, long Errors)
{
    public Dictionary<string, double> Extra { get; } = [];

    public string ToResultLine() => string.Format(
        CultureInfo.InvariantCulture,
        "RESULT {0} ops={1} secs={2:F2} ops/s={3:F0} p50_ms={4:F3} p90_ms={5:F3} p99_ms={6:F3} max_ms={7:F3}",
        Name, Ops, Seconds, OpsPerSecond, P50Ms, P90Ms, P99Ms, MaxMs);
}

/// <summary>Latency samples in Stopwatch ticks, preallocated so recording does not allocate.</summary>
public sealed class LatencyRecorder(int capacity)
{
    private readonly long[] _ticks = new long[capacity];
    private int _count;
    private long _errors;

    public int Count => Math.Min(Volatile.Read(ref _count), _ticks.Length);

    public long Errors => Interlocked.Read(ref _errors);

    public void Add(long ticks)
    {
        var i = Interlocked.Increment(ref _count) - 1;
        if (i < _ticks.Length)
            _ticks[i] = ticks;
    }

    public void AddError() => Interlocked.Increment(ref _errors);

    public TestResult ToResult(string name, double seconds)
    {
        var n = Count;
        var a = _ticks.AsSpan(0, n).ToArray();
        Array.Sort(a);
        return new TestResult(name, n, seconds, seconds > 0 ? n / seconds : 0,
            Percentile(a, 50), Percentile(a, 90), Percentile(a, 99), n == 0 ? double.NaN : ToMs(a[^1]), Errors);
    }

    public static double ToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    public static double Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : ToMs(sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)]);
}

/// <summary>CPU time and resident memory of server processes, read from /proc.</summary>
public static class ProcStat
{
    private const double TicksPerSecond = 100.0; // USER_HZ on Linux

    /// <summary>utime + stime of a process in seconds, or NaN if it is gone.</summary>
    public static double CpuSeconds(int pid) => Times(pid, user: true, system: true);

    /// <summary>stime alone (the kernel's work on the process's behalf: syscalls, and the loopback receive they run).</summary>
    public static double SystemSeconds(int pid) => Times(pid, user: false, system: true);

    private static double Times(int pid, bool user, bool system)
    {
        try
        {
            var s = File.ReadAllText($"/proc/{pid}/stat");
            var f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
            // fields after "pid (comm) ": state is f[0]; utime is field 14 of the full line = f[11], stime f[12]
            var ticks = (user ? long.Parse(f[11], CultureInfo.InvariantCulture) : 0) + (system ? long.Parse(f[12], CultureInfo.InvariantCulture) : 0);
            return ticks / TicksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
        catch (UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }

    /// <summary>VmRSS of a process in MiB, or NaN.</summary>
    public static double RssMiB(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return double.NaN;
    }
}

/// <summary>Per-node CPU seconds and peak RSS of the registry processes over one test, sampled from /proc.</summary>
public sealed class NodeUsage(IReadOnlyDictionary<int, int> pids)
{
    private readonly Dictionary<int, double> _cpu0 = pids.ToDictionary(kv => kv.Key, kv => ProcStat.CpuSeconds(kv.Value));
    private readonly Dictionary<int, double> _sys0 = pids.ToDictionary(kv => kv.Key, kv => ProcStat.SystemSeconds(kv.Value));
    private readonly Dictionary<int, double> _maxRss = pids.ToDictionary(kv => kv.Key, _ => 0.0);

    /// <summary>CPU seconds of all nodes together since this was made.</summary>
    public double CpuSeconds() => pids.Sum(kv => ProcStat.CpuSeconds(kv.Value) - _cpu0[kv.Key]);

    /// <summary>Each node's RSS now (MiB).</summary>
    public Dictionary<int, double> Rss() => pids.ToDictionary(kv => kv.Key, kv => ProcStat.RssMiB(kv.Value));

    /// <summary>Takes an RSS sample of every node into the peaks.</summary>
    public void Sample()
    {
        foreach (var (id, rss) in Rss())
        {
            if (!double.IsNaN(rss))
                _maxRss[id] = Math.Max(_maxRss[id], rss);
        }
    }

    /// <summary>Adds n{id}_rss_mib, n{id}_cpu_s per node and their sums to <paramref name="extra"/>.</summary>
    public void Report(Dictionary<string, double> extra, double seconds)
    {
        Sample();
        var cpu = 0.0;
        foreach (var (id, pid) in pids.OrderBy(kv => kv.Key))
        {
            var used = ProcStat.CpuSeconds(pid) - _cpu0[id];
            cpu += used;
            extra[$"n{id}_rss_mib"] = _maxRss[id];
            extra[$"n{id}_cpu_s"] = used;
        }

        extra["server_cpu_s"] = cpu;
        extra["server_sys_cpu_s"] = pids.Sum(kv => ProcStat.SystemSeconds(kv.Value) - _sys0[kv.Key]);
        extra["server_cores"] = seconds > 0 ? cpu / seconds : double.NaN;
        extra["server_rss_mib"] = _maxRss.Values.Sum();
        extra["max_node_rss_mib"] = _maxRss.Values.DefaultIfEmpty(double.NaN).Max();
    }
}
