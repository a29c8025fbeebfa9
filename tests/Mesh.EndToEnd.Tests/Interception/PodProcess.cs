using Mesh.Testing;

namespace Mesh.EndToEnd.Tests.Interception;

/// <summary>
/// A long-running child process inside a network namespace (a process cannot be moved into one
/// in-process): a <see cref="MeshProcess"/> started through <c>ip netns exec</c>, named for the
/// failure messages; killed with its children on dispose.
/// </summary>
internal sealed class PodProcess : IAsyncDisposable
{
    private PodProcess(string name, MeshProcess process)
    {
        Name = name;
        Process = process;
    }

    public string Name { get; }

    public MeshProcess Process { get; }

    public string Output => Process.Output;

    public bool HasExited => Process.HasExited;

    public static PodProcess Start(string name, string ns, int? uid, string[] command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var argv = PodNetwork.InNamespace(ns, uid, command);
        return new PodProcess(name, MeshProcess.StartCommand(argv[0], argv.Skip(1), environment));
    }

    /// <summary>Waits for a line containing <paramref name="text"/>, failing the test with the output after <paramref name="timeout"/> or an exit.</summary>
    public Task WaitForTextAsync(string text, TimeSpan timeout) =>
        Process.WaitForLineAsync(line => line.Contains(text, StringComparison.Ordinal), timeout);

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
