using System.Collections;
using Mesh.Common.Hosting;

namespace Mesh.Registry.Hosting;

/// <summary>
/// The .NET runtime settings a registry node's own process (<c>mesh registry</c>) runs with unless
/// its environment says otherwise; measured in the registry's scale and write benchmarks
/// (docs/registry-scale.md, "Runtime settings and the writers' pump").
/// <list type="bullet">
/// <item>Thread-pool workers that find no work sleep at once instead of spinning first (set by
/// default): on few cores the spinning of idle workers took CPU from the work still to run, and
/// without it the nodes spent less CPU per watch delivery and wrote faster.</item>
/// <item>Socket completions on the socket engine's threads (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c>):
/// not set by default. It saved watch-delivery CPU at 1,000 streams but made sequential writes
/// slower and let followers fall behind under a write burst. An operator who sets it gets Kestrel's
/// continuations inline too (<see cref="InlineScheduling"/>), and followers then sync their log off
/// the socket's thread; nothing else on the node's socket paths waits synchronously.</item>
/// </list>
/// The runtime reads these once, when the thread pool or a socket is first used, so
/// <see cref="Apply()"/> runs first thing in <c>mesh registry</c>'s action, before the node starts;
/// never from a host that shares its process (tests, the demo), whose nodes keep the defaults.
/// </summary>
public static class RegistryProcessSettings
{
    /// <summary>What a registry process sets, for each variable its environment leaves unset.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> Defaults =
    [
        new(RuntimeVariables.ThreadPoolSpinLimit, "0"),
    ];

    /// <summary>
    /// Sets every variable of <see cref="Defaults"/> that <paramref name="environment"/> does not
    /// hold, so an operator's own value (say <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c>)
    /// wins. Returns the variables it set.
    /// </summary>
    public static IReadOnlyList<string> Apply(IDictionary environment, Action<string, string> set) => ProcessEnvironmentDefaults.Apply(Defaults, environment, set);

    /// <summary>Applies <see cref="Defaults"/> to this process's environment.</summary>
    public static IReadOnlyList<string> Apply() => ProcessEnvironmentDefaults.Apply(Defaults);

    /// <summary>
    /// Whether Kestrel runs its continuations inline too: only where the process's environment makes
    /// socket completions inline, so every other host keeps Kestrel's defaults.
    /// </summary>
    public static bool InlineScheduling => RuntimeVariables.InlineSocketCompletionsOn;
}
