using Mesh.Cli.Commands;

namespace Mesh.Cli.Tests.Commands;

public sealed class DurationOptionTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("1.5m", 90_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("2", 2_000)] // a bare number is seconds, as --interval took it before
    [InlineData("0.25", 250)]
    [InlineData("00:00:30", 30_000)] // hh:mm:ss, as --ttl took it before
    public void TryParse_TheSidecarSyntaxAndTheOldForms_Parse(string text, double milliseconds)
    {
        Assert.True(DurationOption.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("-5s")]
    [InlineData("5 parsecs")]
    [InlineData("NaN")]
    [InlineData("1e300h")]
    public void TryParse_NotADuration_Fails(string text) => Assert.False(DurationOption.TryParse(text, out _));

    [Theory]
    [InlineData("soon", "--ttl: 'soon' is not a duration such as 250ms, 5s, 2m or 1h")]
    [InlineData("1h", "--ttl: 1h is out of range (1s .. 10m)")]
    public void CtlCreateTtl_BadValue_FailsNamingTheFlag(string ttl, string expected)
    {
        var (exitCode, _, error) = MeshInProcess.Run("ctl", "create", "/x", "--ephemeral", "--ttl", ttl);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void TopInterval_BadValue_FailsNamingTheFlag()
    {
        var (exitCode, _, error) = MeshInProcess.Run("top", "--interval", "fast");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("--interval: 'fast' is not a duration", error);
    }
}
