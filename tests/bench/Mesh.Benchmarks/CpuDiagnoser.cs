// A "CPU/op" column: the process's CPU time (every thread, user and kernel) over the measured
// iterations, divided by the operations the benchmark counted (CpuDiagnoser.Count). The Mean
// column is the wall time of the benchmark's own thread; work a stage hands to another thread (the
// access log's writer, the thread pool woken for it) is only in this column. In process only
// (`--inProcess`), where the diagnoser and the benchmark share a process; run out of process it
// shows nothing.
using BenchmarkDotNet.Analysers;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Validators;

namespace Mesh.Benchmarks;

public sealed class CpuDiagnoser : IDiagnoser
{
    public static readonly CpuDiagnoser Default = new();

    private static long s_operations;
    private long _operationsAtStart;
    private TimeSpan _cpuAtStart;
    private readonly Dictionary<BenchmarkCase, double> _results = [];

    /// <summary>Called by a benchmark for the operations it ran (one benchmark thread at a time).</summary>
    public static void Count(long operations = 1) => s_operations += operations;

    public IEnumerable<string> Ids => [nameof(CpuDiagnoser)];

    public IEnumerable<IExporter> Exporters => [];

    public IEnumerable<IAnalyser> Analysers => [];

    public IColumnProvider GetColumnProvider() => EmptyColumnProvider.Instance;

    public RunMode GetRunMode(BenchmarkCase benchmarkCase) => RunMode.NoOverhead;

    public void Handle(HostSignal signal, DiagnoserActionParameters parameters)
    {
        if (signal == HostSignal.BeforeActualRun)
        {
            _operationsAtStart = Volatile.Read(ref s_operations);
            _cpuAtStart = Environment.CpuUsage.TotalTime;
        }
        else if (signal == HostSignal.AfterActualRun)
        {
            var cpu = Environment.CpuUsage.TotalTime - _cpuAtStart;
            var operations = Volatile.Read(ref s_operations) - _operationsAtStart;
            if (operations > 0)
                _results[parameters.BenchmarkCase] = cpu.TotalNanoseconds / operations;
        }
    }

    public IEnumerable<Metric> ProcessResults(DiagnoserResults results)
    {
        if (_results.TryGetValue(results.BenchmarkCase, out var nanoseconds))
            yield return new Metric(CpuMetric.Instance, nanoseconds);
    }

    public void DisplayResults(ILogger logger)
    {
    }

    public IEnumerable<ValidationError> Validate(ValidationParameters validationParameters) => [];

    private sealed class CpuMetric : IMetricDescriptor
    {
        public static readonly CpuMetric Instance = new();

        public string Id => "CpuPerOperation";
        public string DisplayName => "CPU/op";
        public string Legend => "CPU time of the whole process (all threads) per operation, over the measured iterations";
        public string NumberFormat => "0.00";
        public UnitType UnitType => UnitType.Time;
        public string Unit => "ns";
        public bool TheGreaterTheBetter => false;
        public int PriorityInCategory => 0;
        public bool GetIsAvailable(Metric metric) => true;
    }
}

/// <summary>Adds the CPU/op column to a benchmark class: <c>[Config(typeof(CpuConfig))]</c>.</summary>
public sealed class CpuConfig : ManualConfig
{
    public CpuConfig() => AddDiagnoser(CpuDiagnoser.Default);
}
