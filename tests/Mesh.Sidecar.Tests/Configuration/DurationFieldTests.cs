using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Tests.Configuration;

/// <summary>sidecar.yaml's durations take Mesh's one syntax; other spellings fail with the right one named.</summary>
public sealed class DurationFieldTests
{
    private static string Yaml(string ttl) => $$"""
        service: { name: catalog }
        app: { address: http://127.0.0.1:8080 }
        registry:
          addresses: [http://10.0.0.1:7000]
          sessionTtl: {{ttl}}
        """;

    [Fact]
    public void SessionTtl_30s_IsAccepted() =>
        Assert.Equal(TimeSpan.FromSeconds(30), SidecarConfigLoader.Parse(Yaml("30s")).Registry.SessionTtl);

    [Theory]
    [InlineData("\"00:00:30\"", "sidecar.yaml:5: registry.sessionTtl: must be a duration such as 500ms, 30s, 5m or 2h, not '00:00:30' (write 30s)")]
    [InlineData("30", "sidecar.yaml:5: registry.sessionTtl: must be a duration such as 500ms, 30s, 5m or 2h, not '30' (write 30s)")]
    public void SessionTtl_OtherForms_FailNamingTheMeshSpelling(string ttl, string expected)
    {
        var error = Assert.Throws<SidecarConfigException>(() => SidecarConfigLoader.Parse(Yaml(ttl)));

        Assert.Contains(expected, error.Errors.Select(e => e.ToString()));
    }
}
