namespace Mesh.Cli.Iptables;

/// <summary>One iptables invocation, as the arguments after the program name.</summary>
internal sealed record IptablesCommand(IReadOnlyList<string> Arguments)
{
    public static IptablesCommand Nat(params string[] arguments) => new(["-t", "nat", .. arguments]);

    /// <summary>How --dry-run prints it: a line a person can paste into a shell.</summary>
    public override string ToString() => "iptables " + string.Join(' ', Arguments);
}
