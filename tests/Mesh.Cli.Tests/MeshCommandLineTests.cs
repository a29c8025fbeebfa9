namespace Mesh.Cli.Tests;

public sealed class MeshCommandLineTests
{
    private static (int ExitCode, string Out, string Err) Run(params string[] args) => MeshInProcess.Run(args);

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

    [Theory]
    [InlineData("injectr --help")]
    [InlineData("ctl sevrices --help")]
    public void UnknownCommand_WithHelp_FailsNamingIt_InsteadOfPrintingHelp(string line)
    {
        var args = line.Split(' ');
        var (exitCode, _, error) = Run(args);

        Assert.NotEqual(0, exitCode);
        Assert.Contains($"'{args[^2]}'", error);
    }

    [Theory]
    [InlineData("registry")] // has required flags: --help still works without them
    [InlineData("ctl")]
    [InlineData("injector")]
    public void Help_OfAKnownCommand_StillExitsZero(string command)
    {
        var (exitCode, output, error) = Run(command, "--help");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains("Usage:", output);
    }

    [Fact]
    public async Task Sidecar_ListenerPortTaken_FailsWithOneLineNamingIt_AndLogsNoStackTrace()
    {
        using var taken = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        taken.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        taken.Listen();
        var address = taken.LocalEndPoint!.ToString()!;
        var config = Path.Combine(Path.GetTempPath(), "mesh-cli-sidecar-" + Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(config, $"service: {{ name: shop }}\nlisteners: {{ outbound: \"{address}\", inbound: 127.0.0.1:0, admin: 127.0.0.1:0 }}\n");
        try
        {
            // Its own process: the sidecar's console log is what an operator reads.
            var run = await MeshProcess.RunAsync(MeshProcess.Mesh, ["sidecar", "--config", config]);

            Assert.Equal(2, run.ExitCode);
            Assert.Equal($"mesh sidecar: cannot listen: Failed to bind to address http://{address}: address already in use.", run.Stderr.Trim());
            Assert.Equal("", run.Stdout);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public void Registry_ClientPortTaken_FailsWithOneLineNamingIt_AndCreatesNoDataDirectory()
    {
        using var taken = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        taken.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        taken.Listen();
        var address = taken.LocalEndPoint!.ToString()!;
        var data = Path.Combine(Path.GetTempPath(), "mesh-cli-" + Guid.NewGuid().ToString("N"));

        var (exitCode, _, error) = Run("registry", "--id", "1", "--data", data, "--client", address);

        Assert.Equal(2, exitCode);
        Assert.Equal($"mesh registry: cannot listen for clients on {address}: the address is already in use", error.Trim());
        Assert.False(Directory.Exists(data));
    }

    [Theory]
    [InlineData("--api-token", "admin=short", "--api-token: the admin API token has 5 characters; at least 16 are needed")]
    [InlineData("--api-token", "root=0123456789abcdef", "--api-token: API token role 'root' is unknown; use admin or read")]
    [InlineData("--tls-cert", "/nonexistent/cert.pem", "--tls-cert and --tls-key go together")]
    [InlineData("--max-txn-ops", "0", "--max-txn-ops 0 must be at least 1")]
    [InlineData("--max-txn-bytes", "100", "--max-txn-bytes 100 must be at least 16384")]
    [InlineData("--anonymous-concurrency", "0", "--anonymous-concurrency 0 must be at least 1")]
    [InlineData("--quota-sessions", "0", "--quota-sessions 0 must be at least 1")]
    [InlineData("--auth-failures", "0", "--auth-failures 0 must be at least 1")]
    [InlineData("--snapshot-keep", "-1", "--snapshot-keep -1 must be 0 to 1,000,000 (log entries kept behind each snapshot; 0 keeps none)")]
    [InlineData("--snapshot-keep", "1000001", "--snapshot-keep 1000001 must be 0 to 1,000,000 (log entries kept behind each snapshot; 0 keeps none)")]
    public void Registry_BadSecurityFlags_FailWithOneLineSayingWhy(string flag, string value, string expected)
    {
        var data = Path.Combine(Path.GetTempPath(), "mesh-cli-" + Guid.NewGuid().ToString("N"));
        var (exitCode, _, error) = Run("registry", "--id", "1", "--data", data, "--client", "127.0.0.1:1", flag, value);

        Assert.Equal(2, exitCode);
        Assert.Equal($"mesh registry: {expected}", error.Trim());
    }

    [Fact]
    public void Registry_UnreadableTlsFiles_AreNamed()
    {
        var data = Path.Combine(Path.GetTempPath(), "mesh-cli-" + Guid.NewGuid().ToString("N"));
        var (exitCode, _, error) = Run("registry", "--id", "1", "--data", data, "--client", "127.0.0.1:1",
            "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem");

        Assert.Equal(2, exitCode);
        Assert.StartsWith("mesh registry: cannot load the TLS certificate from --tls-cert '/nonexistent/cert.pem'", error.Trim());
    }
}
