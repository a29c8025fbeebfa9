using Mesh.Registry.Core.Acls;

namespace Mesh.Registry.Core.Tests.Acls;

public sealed class NodeAclTests
{
    private static readonly AclId Alice = new("digest", "alice:hash");

    [Fact]
    public void Allows_NullOrEmptyAcl_AllowsEveryone() =>
        Assert.True(NodeAcl.Allows(null, AclPerms.Admin, []) && NodeAcl.Allows([], AclPerms.Admin, []));

    [Fact]
    public void Allows_DigestEntry_OnlyTheNamedIdentityWithTheRight()
    {
        IReadOnlyList<AclEntry> acl = [new AclEntry(AclPerms.Read | AclPerms.Write, Alice)];

        Assert.True(NodeAcl.Allows(acl, AclPerms.Write, [new AclId("ip", "127.0.0.1"), Alice]));
        Assert.False(NodeAcl.Allows(acl, AclPerms.Delete, [Alice]));
        Assert.False(NodeAcl.Allows(acl, AclPerms.Read, [new AclId("digest", "alice:other")]));
        Assert.False(NodeAcl.Allows(acl, AclPerms.Read, [new AclId("world", "anyone")]));
    }

    [Fact]
    public void Allows_WorldAnyoneEntry_AllowsItsRightsToEveryone()
    {
        IReadOnlyList<AclEntry> acl = [new AclEntry(AclPerms.Read, NodeAcl.Anyone)];

        Assert.True(NodeAcl.Allows(acl, AclPerms.Read, []));
        Assert.False(NodeAcl.Allows(acl, AclPerms.Write, []));
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1", true)]
    [InlineData("127.0.0.1", "127.0.0.2", false)]
    [InlineData("10.1.0.0/16", "10.1.200.3", true)]
    [InlineData("10.1.0.0/16", "10.2.0.1", false)]
    [InlineData("0.0.0.0/0", "192.168.1.1", true)]
    [InlineData("10.1.0.0/16", "::1", false)]
    [InlineData("::1", "::1", true)]
    public void Allows_IpEntry_MatchesAddressesOfItsPrefix(string entry, string address, bool allowed) =>
        Assert.Equal(allowed, NodeAcl.Allows([new AclEntry(AclPerms.All, new AclId("ip", entry))], AclPerms.Read, [new AclId("ip", address)]));

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("10.0.0", false)]
    [InlineData("host.example", false)]
    [InlineData("10.0.0.0/x", false)]
    public void IsValidIp_AcceptsAddressesWithOptionalBits(string id, bool valid) => Assert.Equal(valid, NodeAcl.IsValidIp(id));

    [Fact]
    public void Compact_TheOpenAcl_IsNull() =>
        Assert.Null(NodeAcl.Compact([new AclEntry(AclPerms.All, NodeAcl.Anyone)]));
}
