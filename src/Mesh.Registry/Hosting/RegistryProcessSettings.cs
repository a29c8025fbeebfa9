using Mesh.Common.Hosting;

namespace Mesh.Registry.Hosting;

/// <summary>
/// The .NET runtime settings a registry node's process runs with. It keeps the runtime's own
/// defaults, as measured in the registry's write and scale benchmarks (docs/benchmarks.md, "A
/// follower's forwarded write and the registry's runtime settings"; docs/registry-scale.md):
/// <list type="bullet">
/// <item>Idle thread-pool workers spin before they sleep (the runtime's default). With
/// <c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0</c> a node spent a fifth less CPU per watch
/// delivery at 1,000 streams on two shared cores, but wrote 0.73–0.91× as fast on a quiet machine,
/// where ZooKeeper's write rates are measured; an operator with many streams on few shared cores
/// can set it.</item>
/// <item>Socket completions on the socket engine's threads (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c>):
/// not set by default. It saved watch-delivery CPU at 1,000 streams but made sequential writes
/// slower and let followers fall behind under a write burst. An operator who sets it gets Kestrel's
/// continuations inline too (<see cref="InlineScheduling"/>), and followers then sync their log off
/// the socket's thread; nothing else on the node's socket paths waits synchronously.</item>
/// </list>
/// </summary>
public static class RegistryProcessSettings
{
    /// <summary>
    /// Whether Kestrel runs its continuations inline too: only where the process's environment makes
    /// socket completions inline, so every other host keeps Kestrel's defaults.
    /// </summary>
    public static bool InlineScheduling => RuntimeVariables.InlineSocketCompletionsOn;
}
