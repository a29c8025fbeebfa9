using System.Text;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;
using ServiceOwner = Mesh.Registry.Contracts.ServiceOwner;

namespace Mesh.Registry.Tests.Api;

/// <summary>The pure guard planner of secure naming: a tree in, guard ops or a refusal out.</summary>
public sealed class ServiceOwnershipTests
{
    private static readonly JoinTokenScope Bench = new("bench");

    private static Func<string, NodeResult> Tree(params (string Path, string Data, long Version)[] nodes) => path =>
        nodes.FirstOrDefault(n => n.Path == path) is { Path: not null } node
            ? new NodeResult(ErrorCode.Ok, Encoding.UTF8.GetBytes(node.Data), new NodeStat(node.Version, 0, 0, 0, 0, 0, 0, 0, 0))
            : new NodeResult(ErrorCode.NoNode, default, default);

    private static TxnOp Register(string service) => new CreateOp($"/services/{service}/instances/a", Array.Empty<byte>(), CreateMode.Ephemeral, 1, true);

    [Fact]
    public void Plan_NameNobodyOwns_ClaimsItInTheSameTransaction()
    {
        var plan = ServiceOwnership.Plan(Bench, [Register("catalog")], Tree());

        Assert.True(plan.Decision.Allowed);
        var claim = Assert.IsType<CreateOp>(Assert.Single(plan.Guards));
        Assert.Equal("/services/catalog", claim.Path);
        Assert.Equal("bench", ServiceOwner.Parse(claim.Data.Span, out _)?.Namespace);
    }

    [Fact]
    public void Plan_ServiceNodeWithoutOwner_ClaimsItAtTheVersionRead()
    {
        var plan = ServiceOwnership.Plan(Bench, [Register("catalog")], Tree(("/services/catalog", "", 4)));

        var claim = Assert.IsType<SetDataOp>(Assert.Single(plan.Guards));
        Assert.Equal(4, claim.ExpectedVersion);
    }

    [Fact]
    public void Plan_OwnService_ChecksTheOwnerRecordStillHasTheVersionRead()
    {
        var plan = ServiceOwnership.Plan(Bench, [Register("catalog"), new DeleteOp("/services/catalog/instances/b", -1, false)],
            Tree(("/services/catalog", """{"namespace":"bench"}""", 2)));

        Assert.True(plan.Decision.Allowed);
        Assert.Equal(new CheckVersionOp("/services/catalog", 2), Assert.Single(plan.Guards)); // one guard per service
    }

    [Fact]
    public void Plan_ServiceOfAnotherNamespace_IsRefusedNamingTheOwner()
    {
        var plan = ServiceOwnership.Plan(Bench, [Register("mine"), Register("catalog")],
            Tree(("/services/catalog", """{"namespace":"shop"}""", 0)));

        Assert.False(plan.Decision.Allowed);
        Assert.Equal(403, plan.Decision.Status);
        Assert.Equal("service 'catalog' is owned by namespace 'shop'; a join token of namespace 'bench' may not register or change its instances", plan.Decision.Reason);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"owner":"shop"}""")]
    [InlineData("""{"namespace":"Shop/x"}""")]
    public void Plan_InvalidOwnerRecord_IsRefused(string record)
    {
        var plan = ServiceOwnership.Plan(Bench, [Register("catalog")], Tree(("/services/catalog", record, 0)));

        Assert.False(plan.Decision.Allowed);
        Assert.Contains("invalid owner record", plan.Decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_AdminOnlyClaims_NameNobodyOwnsIsRefused()
    {
        var plan = ServiceOwnership.Plan(Bench, [Register("catalog")], Tree(), claimOnFirstUse: false);

        Assert.False(plan.Decision.Allowed);
        Assert.Contains("mesh ctl owner claim catalog NAMESPACE", plan.Decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_CheckOpsAndPathsOutsideServices_NeedNoGuard()
    {
        var plan = ServiceOwnership.Plan(Bench, [new CheckVersionOp("/services/catalog/instances/a", -1), new CheckVersionOp("/config/routes/x", -1)], Tree());

        Assert.True(plan.Decision.Allowed);
        Assert.Empty(plan.Guards);
    }
}
