using Mesh.Sidecar.Configuration;

namespace Mesh.Sidecar.Tests.Configuration;

/// <summary>The one duration syntax, shared by sidecar.yaml, routes and the <c>mesh</c> command's flags.</summary>
public sealed class DurationsTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("5s", 5_000)]
    [InlineData(" 1.5m ", 90_000)]
    [InlineData("5 s", 5_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("0s", 0)]
    public void TryParse_ANumberAndAUnit_Parses(string text, double milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("-5s")]
    [InlineData("5w")]
    [InlineData("00:00:05")]
    [InlineData("99999999999999999999d")]
    public void TryParse_AnythingElse_Fails(string? text) => Assert.False(Durations.TryParse(text, out _));
}
