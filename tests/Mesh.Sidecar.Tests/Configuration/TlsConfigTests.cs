using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Hosting;

namespace Mesh.Sidecar.Tests.Configuration;

public sealed class TlsConfigTests
{
    [Fact]
    public void NoTlsSection_IsOff_SoExistingFilesKeepWorking()
    {
        var config = SidecarConfigLoader.Parse("service: { name: catalog }\n");

        Assert.Equal(TlsMode.Off, config.Tls.Mode);
        Assert.False(config.Tls.Enabled);
        Assert.Empty(config.Authorization);
    }

    [Fact]
    public void TlsAndAuthorization_AreRead()
    {
        var config = SidecarConfigLoader.Parse("""
            service: { name: catalog, namespace: shop }
            registry: { addresses: [http://127.0.0.1:7001] }
            tls:
              mode: strict
              joinToken: shop-token-0123456789abcdef
              trustDomain: mesh.test
            authorization:
              - service: catalog
                rules:
                  - { name: storefront, action: allow, from: [shop/frontend], methods: [GET] }
            """);

        Assert.Equal(TlsMode.Strict, config.Tls.Mode);
        Assert.Equal("shop-token-0123456789abcdef", config.Tls.ResolveJoinToken());
        Assert.Equal("mesh.test", config.Tls.TrustDomain);
        var policy = Assert.Single(config.Authorization);
        Assert.Equal("catalog", policy.Service);
        Assert.Equal("storefront", Assert.Single(policy.Rules).Name);
    }

    [Fact]
    public void Problems_AreReportedWithFileLineAndPath()
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse("""
            service: { name: catalog }
            tls:
              mode: mutual
              joinToken: a
              joinTokenFile: /run/token
              trustDomain: Mesh.Local
              tokn: x
            authorization:
              - service: catalog
                rules:
                  - { action: permit }
            """, "sc.yaml"));

        var messages = error.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains("sc.yaml:3: tls.mode: must be one of off, permissive, strict, not 'mutual'", messages);
        Assert.Contains("sc.yaml:5: tls.joinTokenFile: set joinToken or joinTokenFile, not both", messages);
        Assert.Contains(messages, m => m.StartsWith("sc.yaml:6: tls.trustDomain: the trust domain 'Mesh.Local' has 'M'", StringComparison.Ordinal));
        Assert.Contains("sc.yaml:7: tls.tokn: unknown field", messages);
        Assert.Contains("sc.yaml:11: authorization[0].rules[0].action: 'permit' must be allow or deny", messages);
        Assert.Contains(messages, m => m.StartsWith("sc.yaml:9: authorization: needs tls.mode", StringComparison.Ordinal));
    }

    [Fact]
    public void Tls_NeedsTheRegistry()
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse("service: { name: catalog }\ntls: { mode: permissive }\n", "sc.yaml"));

        Assert.Contains("sc.yaml:2: tls.mode: permissive needs registry.addresses (the registry is the certificate authority)", error.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void JoinToken_ComesFromTheFile_ThenTheEnvironment()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "from-file-token-0123456789\n");
            Assert.Equal("from-file-token-0123456789", new TlsConfig { Mode = TlsMode.Strict, JoinTokenFile = file }.ResolveJoinToken());
        }
        finally
        {
            File.Delete(file);
        }

        var missing = Assert.Throws<SidecarStartupException>(() => new TlsConfig { Mode = TlsMode.Strict, JoinTokenFile = file }.ResolveJoinToken());
        Assert.Contains("cannot read tls.joinTokenFile", missing.Message, StringComparison.Ordinal);
    }
}
