namespace Mesh.Cli.Tests.Iptables;

/// <summary>`mesh iptables` as a command: flags, dry run, refusals. Installing is tested in network namespaces (EndToEnd).</summary>
public sealed class IptablesCommandTests
{
    private static (int ExitCode, string Out, string Err) Run(params string[] args) => MeshInProcess.Run(args);

    [Fact]
    public void DryRun_WithTheInitContainersFlags_PrintsTheRulesAndRunsNothing()
    {
        var (exitCode, output, error) = Run("iptables", "--outbound-port", "15001", "--inbound-port", "15006", "--proxy-uid", "1337", "--exclude-inbound-ports", "15000", "--dry-run");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(14, lines.Length);
        Assert.All(lines, line => Assert.StartsWith("iptables -t nat ", line, StringComparison.Ordinal));
        Assert.Contains("iptables -t nat -A MESH_INBOUND -p tcp --dport 15000 -j RETURN", lines);
        Assert.Contains("iptables -t nat -A MESH_OUTPUT -m owner --uid-owner 1337 -j RETURN", lines);
    }

    [Fact]
    public void DryRunCleanup_PrintsTheRemovalOfWhatAnInstallAdds()
    {
        var (exitCode, output, _) = Run("iptables", "--dry-run", "--cleanup");

        Assert.Equal(0, exitCode);
        Assert.Equal(
            [
                "iptables -t nat -D PREROUTING -p tcp -j MESH_INBOUND",
                "iptables -t nat -D OUTPUT -p tcp -j MESH_OUTPUT",
                "iptables -t nat -F MESH_INBOUND",
                "iptables -t nat -F MESH_IN_REDIRECT",
                "iptables -t nat -F MESH_OUTPUT",
                "iptables -t nat -F MESH_REDIRECT",
                "iptables -t nat -X MESH_INBOUND",
                "iptables -t nat -X MESH_IN_REDIRECT",
                "iptables -t nat -X MESH_OUTPUT",
                "iptables -t nat -X MESH_REDIRECT",
            ],
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Theory]
    [InlineData("--exclude-outbound-ports", "http")]
    [InlineData("--exclude-outbound-cidrs", "not-an-address")]
    [InlineData("--outbound-port", "0")]
    public void BadFlags_AreRefusedBeforeAnythingRuns(string flag, string value)
    {
        var (exitCode, _, error) = Run("iptables", flag, value, "--dry-run");

        Assert.Equal(2, exitCode);
        Assert.Contains(flag, error, StringComparison.Ordinal);
    }
}
