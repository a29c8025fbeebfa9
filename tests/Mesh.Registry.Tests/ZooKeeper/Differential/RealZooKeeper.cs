using System.Diagnostics;
using System.Net;

namespace Mesh.Registry.Tests.ZooKeeper.Differential;

/// <summary>
/// A real standalone ZooKeeper 3.8 (Debian's zookeeper.jar, unchanged) for tests to compare with.
/// zoo.cfg refuses <c>clientPort=0</c>, so a small launcher (ZooKeeperOnPortZero.java, run by
/// java's source launcher) composes the server the way ZooKeeperServerMain does, binds
/// 127.0.0.1 port 0 and prints the port it got. The server stops when its stdin closes, so it
/// never outlives the test process. It runs with TTL nodes on (<c>zookeeper.extendedTypesEnabled</c>)
/// and reaps containers and TTL nodes every <see cref="ContainerCheckIntervalMs"/>.
/// </summary>
internal sealed class RealZooKeeper : IAsyncDisposable
{
    public const string Jar = "/usr/share/java/zookeeper.jar";

    /// <summary>How often the real server reaps (ZooKeeper's default is a minute).</summary>
    public const int ContainerCheckIntervalMs = 100;
    private const string Java = "/usr/bin/java";
    private readonly Process process;
    private readonly string dataDirectory;

    private RealZooKeeper(Process process, string dataDirectory, IPEndPoint endPoint)
    {
        this.process = process;
        this.dataDirectory = dataDirectory;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Why a real ZooKeeper cannot run here, or null when it can.</summary>
    public static string? Missing() =>
        !File.Exists(Jar) || !File.Exists(Java) ? $"{Jar} or {Java} is missing (scripts/install-test-deps.sh installs Debian's zookeeper)"
        : !File.Exists("/usr/bin/javac") ? "no JDK (javac) for java's source launcher (scripts/install-test-deps.sh installs default-jdk-headless)"
            : null;

    public static async Task<RealZooKeeper> StartAsync()
    {
        var data = Directory.CreateTempSubdirectory("mesh-real-zk-").FullName;
        var start = new ProcessStartInfo(Java) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.extendedTypesEnabled=true",
            $"-Dznode.container.checkIntervalMs={ContainerCheckIntervalMs}", "-Xmx256m", "-cp", Jar,
            Path.Combine(AppContext.BaseDirectory, "ZooKeeper", "Differential", "ZooKeeperOnPortZero.java"), data,
        })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        try
        {
            // The JVM compiles the launcher first: slow on a busy machine, so the bound is generous.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("PORT ", StringComparison.Ordinal))
                    return new RealZooKeeper(process, data, new IPEndPoint(IPAddress.Loopback, int.Parse(line[5..], System.Globalization.CultureInfo.InvariantCulture)));
            }
            throw new InvalidOperationException($"the ZooKeeper launcher exited ({process.ExitCode}) without printing its port");
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            Directory.Delete(data, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        process.Dispose();
        Directory.Delete(dataDirectory, recursive: true);
    }
}
