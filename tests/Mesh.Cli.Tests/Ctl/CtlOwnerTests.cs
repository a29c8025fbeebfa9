using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Client;

namespace Mesh.Cli.Tests.Ctl;

/// <summary><c>mesh ctl owner show|claim|transfer</c> against a real registry with authentication on.</summary>
public sealed class CtlOwnerTests : IAsyncLifetime
{
    private const string AdminToken = "admin-token-0123456789abcdef";
    private const string BenchToken = "bench-join-token-0123456789abcd";
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(1, o => o with
    {
        ApiTokens = [ApiTokenGrant.Parse("admin=" + AdminToken)],
        JoinTokens = [JoinTokenGrant.Parse("bench=" + BenchToken)],
    });

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private string Addresses => string.Join(',', _cluster.Nodes.Select(n => n!.ClientUrl));

    private Task<(int ExitCode, string Out, string Err)> CtlAsync(params string[] args) =>
        MeshInProcess.RunAsync(["ctl", "--registry", Addresses, "--token", AdminToken, .. args]);

    [Fact]
    public async Task ClaimShowTransfer_DecideWhoMayRegisterTheName()
    {
        var claimed = await CtlAsync("owner", "claim", "catalog", "shop");
        Assert.True(claimed.ExitCode == 0, claimed.Err);
        Assert.Equal("catalog is owned by namespace shop", claimed.Out.Trim());

        // bench's join token cannot register what shop owns.
        using var bench = new RegistryClient(new RegistryClientOptions { Endpoints = [.. _cluster.Nodes.Select(n => n!.ClientUrl)], Token = BenchToken });
        var refused = await Assert.ThrowsAsync<RegistryException>(() => bench.CreateAsync("/services/catalog/instances/b", [], createParents: true));
        Assert.Contains("owned by namespace 'shop'", refused.Message, StringComparison.Ordinal);

        var again = await CtlAsync("owner", "claim", "catalog", "bench");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("owned by namespace 'shop'; use `mesh ctl owner transfer catalog bench`", again.Err, StringComparison.Ordinal);

        var transferred = await CtlAsync("owner", "transfer", "catalog", "bench");
        Assert.True(transferred.ExitCode == 0, transferred.Err);
        Assert.Equal("catalog is owned by namespace bench (was: shop)", transferred.Out.Trim());
        await bench.CreateAsync("/services/catalog/instances/b", [], createParents: true);

        await bench.CreateAsync("/services/ledger/instances/l", [], createParents: true);
        var shown = await CtlAsync("owner", "show");
        Assert.True(shown.ExitCode == 0, shown.Err);
        var lines = shown.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Matches(@"^SERVICE\s+OWNER$", lines[0]);
        Assert.Matches(@"^catalog\s+bench$", lines[1]);
        Assert.Matches(@"^ledger\s+bench$", lines[2]);
    }

    [Fact]
    public async Task Claim_InvalidNamespaceOrNoAdminToken_IsRefusedWithOneLine()
    {
        var invalid = await CtlAsync("owner", "claim", "catalog", "Shop/evil");
        Assert.Equal(1, invalid.ExitCode);
        Assert.StartsWith("mesh ctl claim: ", invalid.Err, StringComparison.Ordinal);
        Assert.Contains("namespace", invalid.Err, StringComparison.Ordinal);

        var asJoinToken = await MeshInProcess.RunAsync(["ctl", "--registry", Addresses, "--token", BenchToken, "owner", "claim", "catalog", "bench"]);
        Assert.Equal(1, asJoinToken.ExitCode);
        Assert.Contains("Forbidden", asJoinToken.Err, StringComparison.Ordinal);

        var unowned = await CtlAsync("owner", "show", "nothing");
        Assert.True(unowned.ExitCode == 0, unowned.Err);
        Assert.Contains("nobody", unowned.Out, StringComparison.Ordinal);
    }
}
