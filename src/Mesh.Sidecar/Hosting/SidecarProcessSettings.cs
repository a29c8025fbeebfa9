using System.Collections;
using Mesh.Common.Hosting;

namespace Mesh.Sidecar.Hosting;

/// <summary>
/// The .NET runtime settings a sidecar process runs with unless its environment says otherwise.
/// Measured in the proxy bench against haproxy (docs/benchmarks.md "Runtime settings"): together
/// they cut a sidecar's CPU per request by 15–30% and its p99 at 1,000 rps as well.
/// <list type="bullet">
/// <item>Thread-pool workers that find no work sleep at once instead of spinning first. A sidecar
/// on a busy node gets requests in bursts, and the spinning took CPU from the work itself.</item>
/// <item>Socket completions run on the socket engine's own thread (and Kestrel's continuations
/// with them), one thread-pool hop fewer per read and write. Safe here because nothing on the
/// sidecar's socket paths blocks: every stage is asynchronous and the access log is written by
/// its own task.</item>
/// <item>One socket engine thread. With completions inline the runtime starts one per core, and
/// on a node whose cores are busy with other work a preempted engine thread stalls every
/// connection it owns: p99 under full load went from 4 to 50–90 ms with two of them on two
/// cores, for no less CPU. A sidecar that needs more than a core of socket work sets
/// <c>DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT</c> itself.</item>
/// </list>
/// Both are read once, when the runtime first uses a socket or the thread pool, so
/// <see cref="Apply"/> runs first thing in the entry points (<c>mesh sidecar</c> and
/// <c>mesh-sidecar</c>), never from a library or a host that shares its process.
/// </summary>
public static class SidecarProcessSettings
{
    /// <summary>What the sidecar sets, for each variable the environment leaves unset.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> Defaults =
    [
        new(RuntimeVariables.InlineSocketCompletions, "1"),
        new(RuntimeVariables.ThreadPoolSpinLimit, "0"),
        new(RuntimeVariables.SocketThreads, "1"),
    ];

    /// <summary>
    /// Sets every variable of <see cref="Defaults"/> that <paramref name="environment"/> does not
    /// already hold, so an operator's own value (say <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c>)
    /// always wins. Returns the variables it set.
    /// </summary>
    public static IReadOnlyList<string> Apply(IDictionary environment, Action<string, string> set) => ProcessEnvironmentDefaults.Apply(Defaults, environment, set);

    /// <summary>Applies <see cref="Defaults"/> to this process's environment.</summary>
    public static IReadOnlyList<string> Apply() => ProcessEnvironmentDefaults.Apply(Defaults);

    /// <summary>
    /// Whether Kestrel runs its continuations inline too: where socket completions are inline,
    /// which <see cref="Apply"/> arranges for a sidecar process (or the operator set). In-process
    /// hosts that share a process with other work, such as tests and the demo, keep Kestrel's
    /// defaults. An operator's <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c> turns both off.
    /// </summary>
    public static bool InlineScheduling => RuntimeVariables.InlineSocketCompletionsOn;
}
