using System.Collections;

namespace Mesh.Registry.Hosting;

/// <summary>
/// The .NET runtime settings a registry node's own process (<c>mesh registry</c>) runs with unless
/// its environment says otherwise; measured in the registry's scale bench (docs/registry-scale.md,
/// "Runtime settings").
/// <list type="bullet">
/// <item>Thread-pool workers that find no work sleep at once instead of spinning first: a node
/// wakes a writer per watch stream per change, and on few cores the spinning of the idle workers
/// took CPU from the writers still to run.</item>
/// <item>Socket completions run on the socket engine's threads, and Kestrel's continuations with
/// them (<see cref="InlineScheduling"/>): one thread-pool hop fewer per read and per flush. Safe
/// because nothing on the node's socket paths waits synchronously: requests, watch streams, the
/// Raft transport and the ZooKeeper port are asynchronous, and the locks they take (the state's,
/// the fan-out's) are held for dictionary work, not I/O.</item>
/// </list>
/// The runtime reads both once, when a socket or the thread pool is first used, so
/// <see cref="Apply()"/> runs first thing in <c>mesh registry</c>'s action, before the node starts;
/// never from a host that shares its process (tests, the demo), whose nodes keep the defaults.
/// </summary>
public static class RegistryProcessSettings
{
    /// <summary>"1": socket continuations run inline on the socket engine's threads.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// How many times an idle thread-pool worker spins before it sleeps; the runtime reads the value
    /// as hexadecimal (its default, 70, is 46 here).
    /// </summary>
    public const string SpinLimitVariable = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>What a registry process sets, for each variable its environment leaves unset.</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> Defaults =
    [
        new(InlineCompletionsVariable, "1"),
        new(SpinLimitVariable, "0"),
    ];

    /// <summary>
    /// Sets every variable of <see cref="Defaults"/> that <paramref name="environment"/> does not
    /// hold, so an operator's own value (say <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c>)
    /// wins. Returns the variables it set.
    /// </summary>
    public static IReadOnlyList<string> Apply(IDictionary environment, Action<string, string> set)
    {
        var applied = new List<string>();
        foreach (var (name, value) in Defaults)
        {
            if (environment.Contains(name))
                continue;
            set(name, value);
            applied.Add(name);
        }
        return applied;
    }

    /// <summary>Applies <see cref="Defaults"/> to this process's environment.</summary>
    public static IReadOnlyList<string> Apply() => Apply(Environment.GetEnvironmentVariables(), Environment.SetEnvironmentVariable);

    /// <summary>
    /// Whether Kestrel runs its continuations inline too: only where socket completions are inline
    /// (the process's environment says so), so in-process hosts keep Kestrel's defaults.
    /// </summary>
    public static bool InlineScheduling => Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";
}
