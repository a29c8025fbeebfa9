using System.Collections;
using Mesh.Common.Hosting;
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Hosting;

/// <summary>
/// The .NET runtime settings a sidecar process runs with unless its environment says otherwise.
/// Measured in the proxy bench against haproxy (docs/benchmarks.md "Runtime settings" and "The
/// mTLS pair"): together they cut a sidecar's CPU per request by 15–30% and its p99 at 1,000 rps
/// as well.
/// <list type="bullet">
/// <item>Thread-pool workers that find no work sleep at once instead of spinning first. A sidecar
/// on a busy node gets requests in bursts, and the spinning took CPU from the work itself.</item>
/// <item>One socket engine thread. With completions inline the runtime starts one per core, and
/// on a node whose cores are busy with other work a preempted engine thread stalls every
/// connection it owns: p99 under full load went from 4 to 50–90 ms with two of them on two
/// cores, for no less CPU. A sidecar that needs more than a core of socket work sets
/// <c>DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT</c> itself.</item>
/// <item>Socket completions inline on the socket engine's thread (and Kestrel's continuations with
/// them), one thread-pool hop fewer per read and write, for a plaintext sidecar: it saved about
/// 10% of a sidecar's CPU between an app and an HTTP/1.1 upstream. A sidecar with mesh TLS
/// (<c>tls.mode</c> strict or permissive) keeps the runtime's default (off) instead: its traffic is
/// HTTP/2 over TLS between sidecars, and an mTLS pair without them took less CPU per request (both
/// sidecars) in five of six interleaved runs, 8% in the median (a loaded machine: within noise as
/// often as not against the whole build before; see "The mTLS pair"). Safe either way, since nothing on
/// the sidecar's socket paths blocks: every stage is asynchronous and the access log is written by
/// its own task.</item>
/// </list>
/// The runtime reads them once, when it first uses a socket or the thread pool, so
/// <see cref="Apply()"/> runs first thing in the entry points (<c>mesh sidecar</c> and
/// <c>mesh-sidecar</c>) and <see cref="ApplyFor(SidecarConfig)"/> right after the configuration is
/// read, before the sidecar opens a socket; never from a library or a host that shares its process.
/// </summary>
public static class SidecarProcessSettings
{
    /// <summary>What the sidecar sets at start, for each variable the environment leaves unset.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> Defaults =
    [
        new(RuntimeVariables.ThreadPoolSpinLimit, "0"),
        new(RuntimeVariables.SocketThreads, "1"),
    ];

    // Set by Apply(): only a sidecar process (not a test or a host that embeds the sidecar
    // command) takes the settings that depend on its configuration.
    private static bool s_sidecarProcess;

    /// <summary>
    /// Sets every variable of <see cref="Defaults"/> that <paramref name="environment"/> does not
    /// already hold, so an operator's own value (say <c>DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT=2</c>)
    /// always wins. Returns the variables it set.
    /// </summary>
    public static IReadOnlyList<string> Apply(IDictionary environment, Action<string, string> set) => ProcessEnvironmentDefaults.Apply(Defaults, environment, set);

    /// <summary>Applies <see cref="Defaults"/> to this process's environment, and marks it a sidecar process.</summary>
    public static IReadOnlyList<string> Apply()
    {
        s_sidecarProcess = true;
        return ProcessEnvironmentDefaults.Apply(Defaults);
    }

    /// <summary>The settings that depend on the sidecar's configuration: inline socket completions on without mesh TLS, off with it.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> DefaultsFor(SidecarConfig config) =>
        [new(RuntimeVariables.InlineSocketCompletions, config.Tls.Enabled ? "0" : "1")];

    /// <summary>Sets every variable of <see cref="DefaultsFor"/> that <paramref name="environment"/> does not already hold.</summary>
    public static IReadOnlyList<string> ApplyFor(SidecarConfig config, IDictionary environment, Action<string, string> set) =>
        ProcessEnvironmentDefaults.Apply(DefaultsFor(config), environment, set);

    /// <summary>
    /// Applies <see cref="DefaultsFor"/> to this process's environment when <see cref="Apply()"/>
    /// made it a sidecar process; elsewhere (tests that run the sidecar command in process) nothing.
    /// </summary>
    public static IReadOnlyList<string> ApplyFor(SidecarConfig config) =>
        s_sidecarProcess ? ProcessEnvironmentDefaults.Apply(DefaultsFor(config)) : [];

    /// <summary>
    /// Whether Kestrel runs its continuations inline too: where socket completions are inline,
    /// which <see cref="ApplyFor(SidecarConfig)"/> arranges for a plaintext sidecar process (or the
    /// operator set). In-process hosts that share a process with other work, such as tests and the
    /// demo, keep Kestrel's defaults. An operator's <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c>
    /// turns both off.
    /// </summary>
    public static bool InlineScheduling => RuntimeVariables.InlineSocketCompletionsOn;
}
