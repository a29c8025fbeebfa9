using Mesh.Registry.PeerTls;

namespace Mesh.Registry.Tests.PeerTls;

public sealed class ClusterKeyTests
{
    [Fact]
    public void Parse_GeneratedKey_RoundTripsThroughBase64()
    {
        var key = ClusterKey.Generate();

        Assert.Equal(ClusterKey.MinimumBytes, key.Secret.Length);
        Assert.Equal(key.ToBase64(), ClusterKey.Parse("  " + key.ToBase64() + "\n").ToBase64());
        Assert.NotEqual(key.ToBase64(), ClusterKey.Generate().ToBase64());
    }

    [Theory]
    [InlineData("", "the file is empty")]
    [InlineData("not*base64", "the key is not base64")]
    [InlineData("AAECAwQFBgcICQoLDA0ODw==", "the key is 16 bytes; it needs at least 32 random bytes")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "the key is one byte repeated")]
    public void Parse_BadKey_SaysWhatIsWrongAndHowToMakeOne(string text, string problem)
    {
        var e = Assert.Throws<FormatException>(() => ClusterKey.Parse(text));

        Assert.StartsWith(problem, e.Message, StringComparison.Ordinal);
        Assert.Contains("mesh registry keygen", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_TooLargeOrADirectory_IsRefusedWithoutReadingIt()
    {
        var directory = Directory.CreateTempSubdirectory("mesh-cluster-key-").FullName;
        var large = Path.Combine(directory, "large");
        File.WriteAllBytes(large, new byte[1024 * 1024]);

        Assert.Contains("a key file is one line of base64", Assert.Throws<FormatException>(() => ClusterKey.ReadFile(large)).Message, StringComparison.Ordinal);
        Assert.Equal($"--cluster-key-file '{directory}': is a directory, not a key file", Assert.Throws<FormatException>(() => ClusterKey.ReadFile(directory)).Message);
    }

    [Fact]
    public void ToString_NeverShowsTheSecret()
    {
        var key = ClusterKey.Generate();

        Assert.DoesNotContain(key.ToBase64(), key.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(key.ToBase64(), (new Mesh.Registry.Hosting.RegistryNodeOptions
        {
            Id = 1,
            DataDirectory = "x",
            ClientEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0),
            ClusterKey = key,
        }).ToString(), StringComparison.Ordinal);
    }
}
