namespace Mesh.Common.Hosting;

/// <summary>
/// The .NET runtime's environment variables that Mesh's processes set for themselves (see
/// <see cref="ProcessEnvironmentDefaults"/>). The runtime reads the thread-pool ones as
/// hexadecimal and the socket ones as decimal.
/// </summary>
public static class RuntimeVariables
{
    /// <summary>"1": socket continuations run inline on the socket engine's threads.</summary>
    public const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>How many socket engine (epoll) threads the runtime starts.</summary>
    public const string SocketThreads = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>How many times an idle thread-pool worker spins before it sleeps (the runtime's default 70 is "46": hexadecimal).</summary>
    public const string ThreadPoolSpinLimit = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>
    /// Whether this process's socket completions run inline, so Kestrel should run its
    /// continuations inline too (its <c>UnsafePreferInlineScheduling</c>); every other host keeps
    /// Kestrel's defaults.
    /// </summary>
    public static bool InlineSocketCompletionsOn => Environment.GetEnvironmentVariable(InlineSocketCompletions) == "1";
}
