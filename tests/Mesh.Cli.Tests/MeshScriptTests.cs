using System.Diagnostics;

namespace Mesh.Cli.Tests;

/// <summary>
/// The repository's <c>./mesh</c> wrapper, run by bash in a scratch copy of the repository's
/// shape with a stand-in <c>dotnet</c> on the PATH (a real first build takes minutes): the first
/// build says what is happening and shows the build's progress; a run with nothing to build says
/// nothing.
/// </summary>
public sealed class MeshScriptTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mesh-script-").FullName;

    public MeshScriptTests()
    {
        File.Copy(Path.Combine(RepoRoot.Path, "mesh"), Path.Combine(_root, "mesh"));
        Directory.CreateDirectory(Path.Combine(_root, "src"));
        Directory.CreateDirectory(Path.Combine(_root, "samples"));
        File.WriteAllText(Path.Combine(_root, "src", "A.cs"), "");
        var bin = Directory.CreateDirectory(Path.Combine(_root, "fake-bin")).FullName;
        // The stand-in: `dotnet build` prints a progress line, logs its arguments and makes the
        // dll; `dotnet mesh.dll ARGS` prints what it ran.
        File.WriteAllText(Path.Combine(bin, "dotnet"), $$"""
            #!/usr/bin/env bash
            if [ "$1" = build ]; then
              echo "fake build progress"
              echo "$*" >> "{{_root}}/build-args"
              mkdir -p "{{_root}}/artifacts/bin/Mesh.Cli/release" && touch "{{_root}}/artifacts/bin/Mesh.Cli/release/mesh.dll"
            else
              echo "ran $*"
            fi
            """.ReplaceLineEndings("\n"));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(Path.Combine(bin, "dotnet"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(_root, "mesh"));
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["PATH"] = Path.Combine(_root, "fake-bin") + ":" + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task FirstRun_SaysItIsBuilding_AndShowsTheBuildsProgress_OnStderr()
    {
        var (exitCode, stdout, stderr) = await RunAsync("demo", "--rate", "10");

        Assert.Equal(0, exitCode);
        Assert.Contains("mesh: building Mesh (the first build takes about 2 minutes)", stderr);
        Assert.Contains("fake build progress", stderr);
        Assert.Contains("-v:minimal", File.ReadAllText(Path.Combine(_root, "build-args")));
        Assert.EndsWith("mesh.dll demo --rate 10", stdout.Trim());
    }

    [Fact]
    public async Task LaterRun_WithNothingChanged_BuildsNothing_AndSaysNothing()
    {
        await RunAsync("--version");

        var (exitCode, stdout, stderr) = await RunAsync("--version");

        Assert.Equal(0, exitCode);
        Assert.Equal("", stderr);
        Assert.EndsWith("mesh.dll --version", stdout.Trim());
        Assert.Single(File.ReadAllLines(Path.Combine(_root, "build-args")));
    }

    [Fact]
    public async Task LaterRun_AfterAnEdit_RebuildsWithOneLine()
    {
        await RunAsync("--version");
        // The stamp an hour old: the source is newer, whatever the file system's time resolution.
        File.SetLastWriteTimeUtc(Path.Combine(_root, "artifacts", ".mesh-build-stamp"), DateTime.UtcNow.AddHours(-1));

        var (exitCode, _, stderr) = await RunAsync("--version");

        Assert.Equal(0, exitCode);
        Assert.StartsWith("mesh: sources changed, rebuilding…", stderr);
        var builds = File.ReadAllLines(Path.Combine(_root, "build-args"));
        Assert.Equal(2, builds.Length);
        Assert.Contains("-clp:ErrorsOnly", builds[1]);
    }
}
