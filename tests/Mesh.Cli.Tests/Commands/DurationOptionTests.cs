using System.CommandLine;
using Mesh.Cli.Commands;

namespace Mesh.Cli.Tests.Commands;

/// <summary>
/// Every duration flag of <c>mesh</c> takes Mesh's one syntax (<c>30s</c>); <c>hh:mm:ss</c> and
/// bare numbers fail naming the flag and the value spelled the right way.
/// </summary>
public sealed class DurationOptionTests
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5m", 90_000)]
    public void Parse_TheMeshSyntax_IsTheValue(string text, double milliseconds)
    {
        var (value, error) = DurationOption.Parse("--ttl", text, TimeSpan.Zero, TimeSpan.FromHours(1));

        Assert.Null(error);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("00:00:30", "--ttl: '00:00:30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)")]
    [InlineData("30", "--ttl: '30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)")]
    [InlineData("2h", "--ttl: 2h is out of range (0ms .. 1h)")]
    public void Parse_OtherFormsOrOutOfRange_FailsNamingTheFlag(string text, string expected) =>
        Assert.Equal(expected, DurationOption.Parse("--ttl", text, TimeSpan.Zero, TimeSpan.FromHours(1)).Error);

    [Fact]
    public void Parse_WithoutAMaximum_OnlyChecksTheMinimum() =>
        Assert.Equal("--duration: 0s is less than 1ms", DurationOption.Parse("--duration", "0s", TimeSpan.FromMilliseconds(1)).Error);

    [Fact]
    public void CtlCreateTtl_30s_IsAccepted()
    {
        var result = MeshCommandLine.Build().Parse(["ctl", "create", "/x", "--ephemeral", "--ttl", "30s"]);

        Assert.Empty(result.Errors);
        Assert.Equal(TimeSpan.FromSeconds(30), result.GetValue<TimeSpan>("--ttl"));
    }

    [Theory]
    [InlineData("soon", "--ttl: 'soon' is not a duration such as 500ms, 30s, 5m or 2h")]
    [InlineData("00:00:30", "--ttl: '00:00:30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)")]
    [InlineData("1h", "--ttl: 1h is out of range (1s .. 10m)")]
    public void CtlCreateTtl_BadValue_FailsNamingTheFlag(string ttl, string expected)
    {
        var (exitCode, _, error) = MeshInProcess.Run("ctl", "create", "/x", "--ephemeral", "--ttl", ttl);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void TopInterval_30s_IsAccepted()
    {
        var result = MeshCommandLine.Build().Parse(["top", "--interval", "30s"]);

        Assert.Empty(result.Errors);
        Assert.Equal(TimeSpan.FromSeconds(30), result.GetValue<TimeSpan>("--interval"));
    }

    [Theory]
    [InlineData("fast", "--interval: 'fast' is not a duration")]
    [InlineData("00:00:30", "--interval: '00:00:30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)")]
    public void TopInterval_BadValue_FailsNamingTheFlag(string interval, string expected)
    {
        var (exitCode, _, error) = MeshInProcess.Run("top", "--interval", interval);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task DemoDuration_HhMmSs_FailsNamingTheFlagBeforeStartingAnything()
    {
        var (exitCode, _, error) = await MeshInProcess.RunAsync("demo", "--duration", "00:00:30");

        Assert.Equal(2, exitCode);
        Assert.Contains("mesh demo: --duration: '00:00:30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)", error);
    }

    [Fact]
    public void RegistryCertLifetime_30s_IsAccepted() =>
        Assert.Equal(TimeSpan.FromSeconds(30), RegistryCommand.ParseLifetime("30s"));

    [Fact]
    public async Task RegistryCertLifetime_HhMmSs_FailsNamingTheFlagBeforeStartingAnything()
    {
        var data = Directory.CreateTempSubdirectory("mesh-lifetime-").FullName;
        try
        {
            var (exitCode, _, error) = await MeshInProcess.RunAsync(
                "registry", "--id", "1", "--data", data, "--client", "127.0.0.1:0", "--cert-lifetime", "00:00:30");

            Assert.NotEqual(0, exitCode);
            Assert.Contains("mesh registry: --cert-lifetime: '00:00:30' is not a duration such as 500ms, 30s, 5m or 2h (write 30s)", error);
            Assert.Empty(Directory.EnumerateFileSystemEntries(data));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
