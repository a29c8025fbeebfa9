using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Tests.Configuration;

public sealed class AppProbesConfigTests
{
    [Fact]
    public void Parse_NoAppProbesSection_HasNone()
    {
        var config = SidecarConfigLoader.Parse("service: { name: a }\n");

        Assert.Empty(config.AppProbes);
    }

    [Fact]
    public void Parse_AppProbes_ReadsEveryFieldAndDefaults()
    {
        var config = SidecarConfigLoader.Parse("""
            service: { name: a }
            appProbes:
              web-readiness: { port: 8080, path: /healthz, scheme: http, timeout: 3s }
              web-liveness:
                port: 8443
                path: "/live?deep=1"
                scheme: https
              web-startup: { port: 9000 }
            """);

        Assert.Equal(["web-liveness", "web-readiness", "web-startup"], config.AppProbes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new AppProbeConfig { Port = 8080, Path = "/healthz", Scheme = AppProbeScheme.Http, Timeout = TimeSpan.FromSeconds(3) }, config.AppProbes["web-readiness"]);
        Assert.Equal(new AppProbeConfig { Port = 8443, Path = "/live?deep=1", Scheme = AppProbeScheme.Https, Timeout = TimeSpan.FromSeconds(1) }, config.AppProbes["web-liveness"]);
        Assert.Equal(new AppProbeConfig { Port = 9000, Path = "/", Scheme = AppProbeScheme.Http, Timeout = TimeSpan.FromSeconds(1) }, config.AppProbes["web-startup"]);
    }

    [Fact]
    public void Parse_UnknownField_IsAnErrorWithLineAndPath()
    {
        var yaml = """
            service: { name: a }
            appProbes:
              web-readiness:
                port: 8080
                pth: /healthz
            """;

        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml));

        Assert.Equal(["sidecar.yaml:5: appProbes.web-readiness.pth: unknown field"], error.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Parse_BadValues_ReportsEveryErrorWithLineAndPath()
    {
        var yaml = """
            service: { name: a }
            appProbes:
              zero: { port: 0 }
              big: { port: 70000 }
              named: { port: http }
              missing: { path: /healthz }
              relative: { port: 8080, path: healthz }
              grpc: { port: 8080, scheme: grpc }
              slow: { port: 8080, timeout: forever }
              bad/name: { port: 8080 }
              empty:
            """;

        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml));
        var lines = error.Errors.Select(e => e.ToString()).ToList();

        Assert.Contains("sidecar.yaml:3: appProbes.zero.port: must be between 1 and 65535", lines);
        Assert.Contains("sidecar.yaml:4: appProbes.big.port: must be between 1 and 65535", lines);
        Assert.Contains("sidecar.yaml:5: appProbes.named.port: must be an integer, not 'http'", lines);
        Assert.Contains("sidecar.yaml:6: appProbes.missing.port: is required", lines);
        Assert.Contains("sidecar.yaml:7: appProbes.relative.path: must start with '/', not 'healthz'", lines);
        Assert.Contains("sidecar.yaml:8: appProbes.grpc.scheme: must be one of http, https, not 'grpc'", lines);
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:9: appProbes.slow.timeout: must be a duration", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:10: appProbes.bad/name: a probe name is letters, digits", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:11: appProbes.empty: must be a mapping", StringComparison.Ordinal));
        Assert.Equal(9, lines.Count);
    }

    [Fact]
    public void Parse_AppProbesNotAMapping_IsAnError()
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse("service: { name: a }\nappProbes: [web]\n"));

        Assert.Equal(["sidecar.yaml:2: appProbes: must be a mapping"], error.Errors.Select(e => e.ToString()));
    }
}
