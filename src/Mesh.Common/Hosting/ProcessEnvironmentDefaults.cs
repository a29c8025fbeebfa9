using System.Collections;

namespace Mesh.Common.Hosting;

/// <summary>
/// Environment variables a process sets for itself before the runtime reads them, for each one
/// its environment leaves unset, so an operator's own value always wins. The .NET runtime reads
/// its socket and thread-pool settings once, at their first use, so this runs first thing in an
/// entry point (see SidecarProcessSettings for what the sidecar sets, and why).
/// </summary>
public static class ProcessEnvironmentDefaults
{
    /// <summary>
    /// Sets every variable of <paramref name="defaults"/> that <paramref name="environment"/> does
    /// not hold (an empty value counts as set). Returns the names it set.
    /// </summary>
    public static IReadOnlyList<string> Apply(IEnumerable<KeyValuePair<string, string>> defaults, IDictionary environment, Action<string, string> set)
    {
        var applied = new List<string>();
        foreach (var (name, value) in defaults)
        {
            if (environment.Contains(name))
                continue;
            set(name, value);
            applied.Add(name);
        }
        return applied;
    }

    /// <summary>Applies <paramref name="defaults"/> to this process's environment.</summary>
    public static IReadOnlyList<string> Apply(IEnumerable<KeyValuePair<string, string>> defaults) =>
        Apply(defaults, Environment.GetEnvironmentVariables(), Environment.SetEnvironmentVariable);
}
