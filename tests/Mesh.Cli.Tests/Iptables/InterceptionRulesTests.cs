using Mesh.Cli.Iptables;

namespace Mesh.Cli.Tests.Iptables;

public sealed class InterceptionRulesTests
{
    /// <summary>The flags `mesh inject`'s init container passes.</summary>
    private static readonly InterceptionOptions Injected = new() { OutboundPort = 15001, InboundPort = 15006, ProxyUid = 1337, ExcludeInboundPorts = [15000] };

    private static string[] Lines(IEnumerable<IptablesCommand> commands) => [.. commands.Select(c => c.ToString())];

    [Fact]
    public void InjectedFlags_InstallOwnChains_RedirectBothDirections_AndExemptTheSidecar()
    {
        Assert.Equal(
            [
                "iptables -t nat -N MESH_INBOUND",
                "iptables -t nat -N MESH_IN_REDIRECT",
                "iptables -t nat -N MESH_OUTPUT",
                "iptables -t nat -N MESH_REDIRECT",
                "iptables -t nat -A MESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006",
                "iptables -t nat -A MESH_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
                "iptables -t nat -A MESH_INBOUND -p tcp --dport 15006 -j RETURN",
                "iptables -t nat -A MESH_INBOUND -p tcp --dport 15000 -j RETURN",
                "iptables -t nat -A MESH_INBOUND -p tcp -j MESH_IN_REDIRECT",
                "iptables -t nat -A MESH_OUTPUT -m owner --uid-owner 1337 -j RETURN",
                "iptables -t nat -A MESH_OUTPUT -o lo -j RETURN",
                "iptables -t nat -A MESH_OUTPUT -p tcp -j MESH_REDIRECT",
                "iptables -t nat -A PREROUTING -p tcp -j MESH_INBOUND",
                "iptables -t nat -A OUTPUT -p tcp -j MESH_OUTPUT",
            ],
            Lines(InterceptionRules.Install(Injected)));
    }

    [Fact]
    public void SidecarUidExemption_ComesBeforeAnyRedirectInTheOutputChain()
    {
        var output = Lines(InterceptionRules.Install(Injected)).Where(l => l.Contains("-A MESH_OUTPUT", StringComparison.Ordinal)).ToList();

        Assert.Contains("--uid-owner 1337 -j RETURN", output[0], StringComparison.Ordinal);
        Assert.EndsWith("-j MESH_REDIRECT", output[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void OutboundExclusions_ReturnBeforeTheRedirect_AndAGidIsExemptToo()
    {
        var rules = Lines(InterceptionRules.Install(Injected with
        {
            ProxyGid = 1338,
            ExcludeOutboundPorts = [5432, 6379],
            ExcludeOutboundCidrs = ["169.254.169.254/32", "10.96.0.0/12"],
        }));
        var redirect = Array.IndexOf(rules, "iptables -t nat -A MESH_OUTPUT -p tcp -j MESH_REDIRECT");

        foreach (var exclusion in new[]
        {
            "iptables -t nat -A MESH_OUTPUT -m owner --gid-owner 1338 -j RETURN",
            "iptables -t nat -A MESH_OUTPUT -p tcp --dport 5432 -j RETURN",
            "iptables -t nat -A MESH_OUTPUT -p tcp --dport 6379 -j RETURN",
            "iptables -t nat -A MESH_OUTPUT -d 169.254.169.254/32 -j RETURN",
            "iptables -t nat -A MESH_OUTPUT -d 10.96.0.0/12 -j RETURN",
        })
        {
            Assert.InRange(Array.IndexOf(rules, exclusion), 0, redirect - 1);
        }
    }

    [Fact]
    public void TheBuiltInChains_GetExactlyOneJumpEach_AddedLast()
    {
        var rules = Lines(InterceptionRules.Install(Injected));
        var builtIn = rules.Where(r => r.Contains("-A PREROUTING", StringComparison.Ordinal) || r.Contains("-A OUTPUT", StringComparison.Ordinal)).ToArray();

        Assert.Equal(2, builtIn.Length);
        Assert.Equal(builtIn, rules[^2..]);
    }

    [Fact]
    public void Cleanup_DeletesTheJumpsByTheirExactSpec_ThenFlushesAndDeletesOnlyMeshChains()
    {
        // `iptables -t nat -S` of a namespace with interception and a rule of someone else's.
        const string natRules = """
            -P PREROUTING ACCEPT
            -P INPUT ACCEPT
            -P OUTPUT ACCEPT
            -P POSTROUTING ACCEPT
            -N DOCKER
            -N MESH_INBOUND
            -N MESH_IN_REDIRECT
            -N MESH_OUTPUT
            -N MESH_REDIRECT
            -A PREROUTING -p tcp -j MESH_INBOUND
            -A OUTPUT -d 10.1.0.0/16 -j DOCKER
            -A OUTPUT -p tcp -j MESH_OUTPUT
            -A MESH_INBOUND -p tcp -j MESH_IN_REDIRECT
            -A MESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
            -A MESH_OUTPUT -m owner --uid-owner 1337 -j RETURN
            -A MESH_OUTPUT -p tcp -j MESH_REDIRECT
            -A MESH_REDIRECT -p tcp -j REDIRECT --to-ports 15001
            """;

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
            Lines(InterceptionRules.Cleanup(natRules)));
    }

    [Fact]
    public void Cleanup_OfANamespaceWithoutInterception_DoesNothing()
    {
        Assert.Empty(InterceptionRules.Cleanup("-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n-N DOCKER\n-A OUTPUT -j DOCKER\n"));
    }

    [Theory]
    [InlineData("15000,15020", new[] { 15000, 15020 })]
    [InlineData(" 15000 , 15020 ", new[] { 15000, 15020 })]
    [InlineData("", new int[0])]
    public void Ports_AreCommaSeparated(string text, int[] expected)
    {
        Assert.Equal(expected, InterceptionOptions.ParsePorts(text, "--exclude-outbound-ports"));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("http")]
    public void BadPorts_AreRefusedNamingTheFlag(string text)
    {
        var error = Assert.Throws<FormatException>(() => InterceptionOptions.ParsePorts(text, "--exclude-outbound-ports"));
        Assert.Contains("--exclude-outbound-ports", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cidrs_AcceptABareAddressAsSlash32_AndRefuseHostBitsAndIpv6()
    {
        Assert.Equal(["169.254.169.254/32", "10.0.0.0/8"], InterceptionOptions.ParseCidrs("169.254.169.254,10.0.0.0/8", "--exclude-outbound-cidrs"));
        Assert.Throws<FormatException>(() => InterceptionOptions.ParseCidrs("10.0.0.1/8", "--exclude-outbound-cidrs"));
        Assert.Throws<FormatException>(() => InterceptionOptions.ParseCidrs("fd00::/8", "--exclude-outbound-cidrs"));
    }
}
