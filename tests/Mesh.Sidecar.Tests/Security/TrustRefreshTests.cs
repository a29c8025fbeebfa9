using Mesh.Registry.Client.Identity;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Security;

namespace Mesh.Sidecar.Tests.Security;

/// <summary>A running sidecar takes a new trust bundle (a root rotation) without a restart.</summary>
public sealed class TrustRefreshTests
{
    [Fact]
    public void PeerFromANewRoot_IsRefusedUntilTheBundleCarriesThatRoot_ThenAccepted()
    {
        using var oldPki = new MeshTestPki();
        using var newPki = new MeshTestPki();
        var validator = new PeerCertificateValidator(oldPki.Trust);
        var peer = newPki.Issue("catalog");

        Assert.False(validator.Validate(peer.Certificate, null, PeerRole.Client).IsValid);

        // Rotation step 1: the registry serves both roots.
        Assert.True(validator.UpdateTrust(new TrustBundle(MeshTestPki.TrustDomain, [.. oldPki.Trust.Roots, .. newPki.Trust.Roots])));

        Assert.True(validator.Validate(peer.Certificate, null, PeerRole.Client).IsValid);
        Assert.True(validator.Validate(oldPki.Issue("catalog").Certificate, null, PeerRole.Client).IsValid);
    }

    [Fact]
    public void BundleForAnotherTrustDomain_IsRefused_AndTheRootsStay()
    {
        using var pki = new MeshTestPki();
        var validator = new PeerCertificateValidator(pki.Trust);

        Assert.False(validator.UpdateTrust(new TrustBundle("other.test", pki.Trust.Roots)));

        Assert.Equal(MeshTestPki.TrustDomain, validator.Trust.TrustDomain);
        Assert.True(validator.Validate(pki.Issue("catalog").Certificate, null, PeerRole.Client).IsValid);
    }

    [Fact]
    public async Task SidecarSecurity_CountsOnlyRealChanges()
    {
        using var oldPki = new MeshTestPki();
        using var newPki = new MeshTestPki();
        await using var security = new SidecarSecurity(MeshTlsMode.Strict, oldPki.Trust, oldPki.Source("orders"), MeshTestPki.Id("orders"));

        Assert.False(security.RefreshTrust(new TrustBundle(MeshTestPki.TrustDomain, oldPki.Trust.Roots)));
        Assert.True(security.RefreshTrust(new TrustBundle(MeshTestPki.TrustDomain, [.. oldPki.Trust.Roots, .. newPki.Trust.Roots])));
        Assert.False(security.RefreshTrust(new TrustBundle(MeshTestPki.TrustDomain, [.. newPki.Trust.Roots, .. oldPki.Trust.Roots])));

        Assert.Equal(1, security.TrustUpdates);
        Assert.Equal(2, security.Trust.Roots.Count);
    }
}
