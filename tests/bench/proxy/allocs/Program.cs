// AllocProfile PID SECONDS [TOP]: what a running .NET process allocates, by type. Listens to the
// runtime's AllocationTick events (one per ~100 KB allocated, naming the type of the object that
// crossed the mark) over an EventPipe session for SECONDS, and prints each type's share of the
// sampled bytes. A sample, not a count: shares are good to a few percent with thousands of ticks.
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

if (args.Length < 2 || !int.TryParse(args[0], out var pid) || !int.TryParse(args[1], out var seconds) || seconds <= 0)
{
    Console.Error.WriteLine("usage: AllocProfile PID SECONDS [TOP]");
    return 2;
}
var top = args.Length > 2 && int.TryParse(args[2], out var t) ? t : 30;

var provider = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC);
using var session = new DiagnosticsClient(pid).StartEventPipeSession([provider], requestRundown: false);
var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
var ticks = 0;
var source = new EventPipeEventSource(session.EventStream);
source.Clr.GCAllocationTick += e =>
{
    var name = string.IsNullOrEmpty(e.TypeName) ? "?" : e.TypeName;
    bytes[name] = bytes.GetValueOrDefault(name) + e.AllocationAmount64;
    ticks++;
};
var reading = Task.Run(source.Process);
await Task.Delay(TimeSpan.FromSeconds(seconds));
session.Stop();
await reading;

var total = bytes.Values.Sum();
Console.WriteLine($"# {ticks} allocation ticks, {total / 1e6:F1} MB sampled in {seconds} s");
Console.WriteLine($"{"share",6}  {"MB",8}  type");
foreach (var (name, amount) in bytes.OrderByDescending(kv => kv.Value).Take(top))
    Console.WriteLine($"{100.0 * amount / Math.Max(1, total),5:F1}%  {amount / 1e6,8:F2}  {name}");
return 0;
