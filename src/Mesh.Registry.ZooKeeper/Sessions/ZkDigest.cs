using System.Security.Cryptography;
using System.Text;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>ZooKeeper's digest identity of <c>USER:PASSWORD</c>: <c>USER:base64(sha1(USER:PASSWORD))</c> (<c>DigestAuthenticationProvider.generateDigest</c>).</summary>
public static class ZkDigest
{
    public static string Of(string userPassword)
    {
        var colon = userPassword.IndexOf(':', StringComparison.Ordinal);
        var user = colon < 0 ? userPassword : userPassword[..colon];
        // SHA-1 because ZooKeeper's ACLs name users by it; it protects nothing of the registry's own.
#pragma warning disable CA5350
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(userPassword));
#pragma warning restore CA5350
        return user + ":" + Convert.ToBase64String(hash);
    }
}
