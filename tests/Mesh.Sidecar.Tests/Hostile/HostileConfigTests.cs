// Configuration an operator (or a broken deploy) can get wrong: YAML that is not YAML, the wrong
// shape, and limits that make no sense. Each is a SidecarConfigException naming file, line and
// field, never a crash or a silently defaulted value. (Field-by-field validation of the rest of
// sidecar.yaml lives in Configuration/SidecarConfigLoaderTests.)
using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Tests.Hostile;

public sealed class HostileConfigTests
{
    [Theory]
    [InlineData("service:\n\tname: catalog\n", 2)]
    [InlineData("service:\n  name: catalog\n  name: other\n", 3)]
    [InlineData("service: { name: catalog\n", 2)]
    [InlineData("service:\n  name: \"catalog\n", 2)]
    [InlineData("service: { name: [catalog\nroutes: [", 1)]
    public void InvalidYaml_IsAConfigErrorWithTheLine(string yaml, int line)
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml, "bad.yaml"));

        var only = Assert.Single(error.Errors);
        Assert.Equal("bad.yaml", only.File);
        Assert.InRange(only.Line, line - 1, line + 1);
        Assert.Contains("bad.yaml:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidYamlFile_NamesTheFileAndTheLine()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mesh-hostile-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "service:\n  name: catalog\nlimits:\n  maxRequestBodySize: [unclosed\n");
        try
        {
            var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.LoadFile(path));

            var only = Assert.Single(error.Errors);
            Assert.Equal(Path.GetFileName(path), only.File);
            Assert.InRange(only.Line, 4, 5);
            Assert.Contains(Path.GetFileName(path) + ":", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("- service\n- catalog\n")]
    [InlineData("just a string\n")]
    [InlineData("service: [catalog]\n")]
    public void WrongShape_IsAConfigError(string yaml)
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml, "bad.yaml"));

        Assert.NotEmpty(error.Errors);
        Assert.All(error.Errors, e => Assert.Equal("bad.yaml", e.File));
    }

    [Theory]
    [InlineData("match: { hosts: [catalog\nsplit: [")]
    [InlineData("""{ "match": { "hosts": ["catalog"] }, "split": [ { "version": "v2", """)]
    [InlineData("\u0000\u0001\u0002\u00ff binary")]
    [InlineData("- just\n- a list\n")]
    [InlineData("")]
    [InlineData("~")]
    public void InvalidRouteDocument_OfAnyKind_IsOneConfigErrorNamingTheDocument(string document)
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.ParseRoute(document, "/config/routes/catalog", "catalog"));

        var only = Assert.Single(error.Errors);
        Assert.Equal("/config/routes/catalog", only.File);
    }

    [Fact]
    public void BinaryGarbage_IsAConfigError()
    {
        var garbage = new string(Enumerable.Range(0, 512).Select(i => (char)((i * 7919) % 0x7F)).ToArray());

        Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(garbage, "bad.yaml"));
    }

    [Fact]
    public void NonsenseLimits_AreEachReportedWithLineAndField()
    {
        var yaml = """
            service: { name: catalog }
            limits:
              maxRequestHeadersTotalSize: 0
              maxRequestHeaderCount: 0
              maxRequestBodySize: lots
              requestHeadersTimeout: soon
              keepAliveTimeout: 0s
              minRequestBodyDataRate: fast
              minRequestBodyDataRateGracePeriod: 500ms
              maxRequestLineSize: 8KB
            """;

        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(yaml));
        var lines = error.Errors.Select(e => e.ToString()).ToList();

        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:3: limits.maxRequestHeadersTotalSize:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:4: limits.maxRequestHeaderCount:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:5: limits.maxRequestBodySize:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:6: limits.requestHeadersTimeout:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:7: limits.keepAliveTimeout:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("sidecar.yaml:8: limits.minRequestBodyDataRate:", StringComparison.Ordinal));
        Assert.Contains("sidecar.yaml:9: limits.minRequestBodyDataRateGracePeriod: must be longer than 1s (Kestrel checks rates once a second)", lines);
        Assert.Contains("sidecar.yaml:10: limits.maxRequestLineSize: unknown field", lines);
        Assert.Equal(8, lines.Count);
    }

    [Fact]
    public void Limits_AreReadAsWritten()
    {
        var config = SidecarConfigLoader.Parse("""
            service: { name: catalog }
            limits:
              maxRequestHeadersTotalSize: 16KB
              maxRequestHeaderCount: 50
              maxRequestBodySize: unlimited
              requestHeadersTimeout: 3s
              keepAliveTimeout: 60s
              minRequestBodyDataRate: 1KB
              minRequestBodyDataRateGracePeriod: 3s
            """);

        var limits = config.Limits;
        Assert.Equal(16 * 1024, limits.MaxRequestHeadersTotalSize);
        Assert.Equal(50, limits.MaxRequestHeaderCount);
        Assert.Null(limits.MaxRequestBodySize);
        Assert.Equal(TimeSpan.FromSeconds(3), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), limits.KeepAliveTimeout);
        Assert.Equal(1024, limits.MinRequestBodyBytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(3), limits.MinRequestBodyDataRateGracePeriod);
        Assert.Null(SidecarConfigLoader.Parse("service: { name: catalog }\nlimits: { minRequestBodyDataRate: off }").Limits.MinRequestBodyBytesPerSecond);
    }
}
