using System.CommandLine;

namespace Mesh.Cli.Tests;

public sealed class MeshCommandLineTests
{
    private static (int ExitCode, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = MeshCommandLine.Build().Parse(args)
            .Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("demo")]
    [InlineData("registry")]
    [InlineData("sidecar")]
    [InlineData("ctl")]
    [InlineData("inject")]
    [InlineData("top")]
    [InlineData("iptables")]
    public void Help_ListsEveryCommand(string command)
    {
        var (exitCode, output, _) = Run("--help");

        Assert.Equal(0, exitCode);
        Assert.Matches($@"(?m)^\s+{command}\s+\S.+$", output);
    }

    [Fact]
    public async Task Version_PrintsTheProductVersion()
    {
        // --version reports the entry assembly, so this runs the real `mesh` binary.
        var (exitCode, output) = await MeshProcess.RunAsync("--version");

        Assert.Equal(0, exitCode);
        Assert.StartsWith("0.1.0", output.Trim());
    }

    [Fact]
    public void UnknownCommand_FailsWithAMessage()
    {
        var (exitCode, _, error) = Run("frobnicate");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("frobnicate", error);
    }
}
