using System.Globalization;

namespace Mesh.Cli.Iptables;

/// <summary>
/// The nat rules of transparent interception, as pure data: options in, iptables commands out.
/// Every rule lives in a chain of our own (MESH_*); the built-in chains get exactly one jump each,
/// so cleanup can remove precisely what was added and nothing else.
/// </summary>
internal static class InterceptionRules
{
    /// <summary>Incoming TCP (PREROUTING): decides what goes to the inbound listener.</summary>
    public const string Inbound = "MESH_INBOUND";
    /// <summary>The redirect to the inbound listener.</summary>
    public const string InboundRedirect = "MESH_IN_REDIRECT";
    /// <summary>The app's outgoing TCP (OUTPUT): decides what goes to the outbound listener.</summary>
    public const string Output = "MESH_OUTPUT";
    /// <summary>The redirect to the outbound listener.</summary>
    public const string Redirect = "MESH_REDIRECT";

    public static readonly IReadOnlyList<string> Chains = [Inbound, InboundRedirect, Output, Redirect];

    public static IReadOnlyList<IptablesCommand> Install(InterceptionOptions options)
    {
        var outboundPort = Text(options.OutboundPort);
        var inboundPort = Text(options.InboundPort);
        var commands = new List<IptablesCommand>();
        foreach (var chain in Chains)
            commands.Add(IptablesCommand.Nat("-N", chain));

        commands.Add(IptablesCommand.Nat("-A", InboundRedirect, "-p", "tcp", "-j", "REDIRECT", "--to-ports", inboundPort));
        commands.Add(IptablesCommand.Nat("-A", Redirect, "-p", "tcp", "-j", "REDIRECT", "--to-ports", outboundPort));

        // Inbound: remote sidecars call the inbound port itself; excluded ports (admin, probes) reach their listener as sent.
        foreach (var port in options.ExcludeInboundPorts.Prepend(options.InboundPort).Distinct())
            commands.Add(IptablesCommand.Nat("-A", Inbound, "-p", "tcp", "--dport", Text(port), "-j", "RETURN"));
        commands.Add(IptablesCommand.Nat("-A", Inbound, "-p", "tcp", "-j", InboundRedirect));

        // Outbound: the sidecar's own connections first, or it would be handed its own traffic forever.
        commands.Add(IptablesCommand.Nat("-A", Output, "-m", "owner", "--uid-owner", Text(options.ProxyUid), "-j", "RETURN"));
        if (options.ProxyGid is { } gid)
            commands.Add(IptablesCommand.Nat("-A", Output, "-m", "owner", "--gid-owner", Text(gid), "-j", "RETURN"));
        // Traffic that stays in the pod (the app to itself, or to the sidecar's outbound port in explicit mode).
        commands.Add(IptablesCommand.Nat("-A", Output, "-o", "lo", "-j", "RETURN"));
        foreach (var port in options.ExcludeOutboundPorts.Distinct())
            commands.Add(IptablesCommand.Nat("-A", Output, "-p", "tcp", "--dport", Text(port), "-j", "RETURN"));
        foreach (var cidr in options.ExcludeOutboundCidrs.Distinct(StringComparer.Ordinal))
            commands.Add(IptablesCommand.Nat("-A", Output, "-d", cidr, "-j", "RETURN"));
        commands.Add(IptablesCommand.Nat("-A", Output, "-p", "tcp", "-j", Redirect));

        // The jumps come last, so no packet enters a half-built chain.
        commands.Add(IptablesCommand.Nat("-A", "PREROUTING", "-p", "tcp", "-j", Inbound));
        commands.Add(IptablesCommand.Nat("-A", "OUTPUT", "-p", "tcp", "-j", Output));
        return commands;
    }

    /// <summary>
    /// What removes interception from a namespace whose nat table is <paramref name="natRules"/>
    /// (the output of <c>iptables -t nat -S</c>): every rule that jumps to a MESH_* chain, deleted
    /// by its exact spec, then the MESH_* chains themselves. Empty when nothing is installed.
    /// </summary>
    public static IReadOnlyList<IptablesCommand> Cleanup(string natRules)
    {
        var jumps = new List<IptablesCommand>();
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in natRules.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words is ["-N", var chain] && Chains.Contains(chain))
                present.Add(chain);
            else if (words.Length > 2 && words[0] == "-A" && !Chains.Contains(words[1]) && JumpTarget(words) is { } target && Chains.Contains(target))
                jumps.Add(IptablesCommand.Nat(["-D", .. words[1..]]));
        }
        var commands = new List<IptablesCommand>(jumps);
        // Flush every chain before deleting any, since our chains jump to each other.
        foreach (var chain in Chains.Where(present.Contains))
            commands.Add(IptablesCommand.Nat("-F", chain));
        foreach (var chain in Chains.Where(present.Contains))
            commands.Add(IptablesCommand.Nat("-X", chain));
        return commands;
    }

    private static string? JumpTarget(string[] words)
    {
        var jump = Array.IndexOf(words, "-j");
        return jump >= 0 && jump + 1 < words.Length ? words[jump + 1] : null;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
