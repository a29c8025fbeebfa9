using Mesh.Common.Time;

namespace Mesh.Registry.Client.Tests.Time;

/// <summary>
/// The one duration syntax, shared by sidecar.yaml, routes, the registry's query strings, the
/// <c>mesh</c> command's flags and the reliability harness's environment.
/// </summary>
public sealed class DurationsTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("250ms", 250)]
    [InlineData("30s", 30_000)]
    [InlineData("5s", 5_000)]
    [InlineData(" 1.5m ", 90_000)]
    [InlineData("5 s", 5_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("0s", 0)]
    [InlineData("0.5ms", 0.5)]
    public void TryParse_ANumberAndAUnit_Parses(string text, double milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("5")]
    [InlineData("-5s")]
    [InlineData("5w")]
    [InlineData("5S")]
    [InlineData("soon")]
    [InlineData("5 parsecs")]
    [InlineData("NaN")]
    [InlineData("1e3s")]
    [InlineData("00:00:05")]
    [InlineData("1e300h")]
    [InlineData("99999999999999999999d")]
    public void TryParse_AnythingElse_Fails(string? text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData(0.5, "0.5ms")]
    [InlineData(1, "1ms")]
    [InlineData(500, "500ms")]
    [InlineData(1_500, "1.5s")]
    [InlineData(30_000, "30s")]
    [InlineData(90_000, "90s")]
    [InlineData(300_000, "5m")]
    [InlineData(7_200_000, "2h")]
    [InlineData(86_400_000, "1d")]
    [InlineData(2_592_000_000, "30d")]
    [InlineData(1_234, "1234ms")]
    public void Format_ReturnsTheShortestExactSpelling_ThatParsesBack(double milliseconds, string expected)
    {
        var value = TimeSpan.FromMilliseconds(milliseconds);

        Assert.Equal(expected, Durations.Format(value));
        Assert.True(Durations.TryParse(expected, out var back));
        Assert.Equal(value, back);
    }

    [Theory]
    [InlineData("00:00:30", "'00:00:30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)")]
    [InlineData("01:30:00", "'01:30:00' is not a duration such as 500ms, 30s, 5m or 2h (write 90m)")]
    [InlineData("30", "'30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)")]
    [InlineData("0.25", "'0.25' is not a duration such as 500ms, 30s, 5m or 2h (write 250ms)")]
    [InlineData("soon", "'soon' is not a duration such as 500ms, 30s, 5m or 2h")]
    [InlineData("", "'' is not a duration such as 500ms, 30s, 5m or 2h")]
    public void Problem_OtherForms_NameTheMeshSpelling(string text, string expected) =>
        Assert.Equal(expected, Durations.Problem(text));
}
