namespace Mesh.Registry.Core.Acls;

/// <summary>An identity a ZooKeeper session holds, or an ACL names: <c>world:anyone</c>, <c>ip:10.0.0.0/8</c>, <c>digest:user:hash</c>.</summary>
public readonly record struct AclId(string Scheme, string Id);

/// <summary>One entry of a node's access control list: the rights (<see cref="AclPerms"/>) <see cref="Id"/> has.</summary>
public readonly record struct AclEntry(int Perms, AclId Id);

/// <summary>ZooKeeper's permission bits (<c>ZooDefs.Perms</c>).</summary>
public static class AclPerms
{
    public const int Read = 1;
    public const int Write = 2;
    public const int Create = 4;
    public const int Delete = 8;
    public const int Admin = 16;
    public const int All = Read | Write | Create | Delete | Admin;
}
