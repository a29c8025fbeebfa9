using System.Globalization;
using System.Runtime.Versioning;

namespace Mesh.EndToEnd.Tests.Interception;

/// <summary>
/// The scene of issue #11, built once for the interception tests: in the server pod a registry
/// (the CA), the Shop sample's inventory app on 127.0.0.1:8080 only, and its strict-mTLS sidecar;
/// in the client pod a strict-mTLS sidecar running as uid 1337 and `mesh iptables` applied, so the
/// "app" (any process of another uid, here curl as root) is intercepted. The app only ever listens
/// on the server pod's loopback, so a call to 10.77.N.2:8080 can be answered only through the mesh.
/// </summary>
public sealed class InterceptedPods : IAsyncLifetime
{
    public const int ProxyUid = 1337;
    public const int AppPort = 8080;
    public const int RegistryPort = 7001;
    private const string Token = "shop-join-token-0123456789abcdef";
    private readonly List<PodProcess> _processes = [];
    private PodNetwork? _network;
    private string _directory = "";

    /// <summary>Why the tests cannot run here (not root, tools missing); null when they can.</summary>
    public string? SkipReason { get; private set; }

    internal PodNetwork Network => _network!;

    public string ServiceAddress => Network.ServerAddress;

    public async Task InitializeAsync()
    {
        SkipReason = PodNetwork.Unavailable();
        if (SkipReason is not null || !OperatingSystem.IsLinux())
            return;
        try
        {
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    [SupportedOSPlatform("linux")]
    private async Task StartAsync()
    {
        _network = PodNetwork.Create();
        _directory = Directory.CreateTempSubdirectory("mesh-intercept-").FullName;
        // The sidecar's user needs a home for the dotnet host and read access to its config.
        var home = Directory.CreateDirectory(Path.Combine(_directory, "home")).FullName;
        File.SetUnixFileMode(_directory, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(home, (UnixFileMode)0b111_111_111);
        var mesh = Path.Combine(AppContext.BaseDirectory, "mesh.dll");
        var shop = Path.Combine(AppContext.BaseDirectory, "shop.dll");
        var server = Network.ServerAddress;

        Start("registry", Network.Server, "dotnet", mesh, "registry", "--id", "1", "--data", Path.Combine(_directory, "registry"),
            "--client", $"{server}:{RegistryPort}", "--join-token", $"shop={Token}");
        Start("inventory", Network.Server, "dotnet", shop, "--service", "inventory", "--version", "v1", "--urls", $"http://127.0.0.1:{AppPort}");
        // Sidecars fetch their certificate at startup: the CA must answer first.
        await WaitForAsync(Network.Server, $"http://{server}:{RegistryPort}/readyz", "the registry");
        Start("inventory-sidecar", Network.Server, "dotnet", mesh, "sidecar", "--config", WriteConfig("inventory", server, ""));
        // The virtual address: what the client app calls the inventory service by.
        var frontend = WriteConfig("frontend", Network.ClientAddress, $"""
            interception:
              services:
                inventory: {server}:{AppPort}
            """);
        StartAsProxy("frontend-sidecar", home, "dotnet", mesh, "sidecar", "--config", frontend);
        await WaitForAsync(Network.Server, "http://127.0.0.1:15000/readyz", "the inventory sidecar");
        await WaitForAsync(Network.Client, "http://127.0.0.1:15000/readyz", "the frontend sidecar");

        // What the init container does (the exact flags `mesh inject` emits).
        var (exitCode, output) = PodNetwork.Exec(Network.Client, null, "dotnet", mesh, "iptables",
            "--outbound-port", "15001", "--inbound-port", "15006", "--proxy-uid", ProxyUid.ToString(CultureInfo.InvariantCulture), "--exclude-inbound-ports", "15000");
        if (exitCode != 0)
            throw new InvalidOperationException($"mesh iptables failed ({exitCode}): {output}");
    }

    [SupportedOSPlatform("linux")]
    private string WriteConfig(string service, string address, string extra)
    {
        var path = Path.Combine(_directory, service + ".yaml");
        File.WriteAllText(path, $"""
            service:
              name: {service}
              namespace: shop
              address: {address}
            app:
              address: http://127.0.0.1:{AppPort}
            registry:
              addresses: [http://{Network.ServerAddress}:{RegistryPort}]
              sessionTtl: 3s
            tls:
              mode: strict
              joinToken: {Token}
            drainTime: 0s
            {extra}
            """);
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
        return path;
    }

    private void Start(string name, string ns, params string[] command) => Launch(name, ns, null, null, command);

    /// <summary>Runs a process in the client pod as the sidecar's user, which `mesh iptables` exempts.</summary>
    private void StartAsProxy(string name, string home, params string[] command) => Launch(name, Network.Client, ProxyUid, home, command);

    private void Launch(string name, string ns, int? uid, string? home, string[] command)
    {
        var environment = new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" };
        if (home is not null)
            environment["HOME"] = home;
        _processes.Add(PodProcess.Start(name, ns, uid, command, environment));
    }

    /// <summary>Waits until <paramref name="url"/> answers 200 in <paramref name="ns"/> (a sidecar's /readyz: registered, certificate issued).</summary>
    private async Task WaitForAsync(string ns, string url, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (Curl(ns, null, url).Status == 200)
                return;
            if (_processes.FirstOrDefault(p => p.HasExited) is { } exited)
                throw new InvalidOperationException($"{exited.Name} exited while waiting for {what}:\n{Logs()}");
            await Task.Delay(250);
        }
        throw new TimeoutException($"{what} did not become ready:\n{Logs()}");
    }

    /// <summary>An HTTP call with curl in <paramref name="ns"/>: status (0 when no answer), body, curl's exit code.</summary>
    public static (int Status, string Body, int ExitCode) Curl(string ns, int? uid, string url, params string[] extra)
    {
        var (exitCode, output) = PodNetwork.Exec(ns, uid, ["curl", "-s", "--max-time", "10", "-w", "\n%{http_code}", .. extra, url]);
        var cut = output.LastIndexOf('\n');
        var status = int.TryParse(output[(cut + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 0;
        return (status, cut < 0 ? "" : output[..cut], exitCode);
    }

    /// <summary>Everything the pods' processes printed, for failure messages.</summary>
    public string Logs() => string.Join('\n', _processes.Select(p => $"--- {p.Name}{(p.HasExited ? " (exited)" : "")}\n{p.Output}"));

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
            await process.DisposeAsync();
        _processes.Clear();
        _network?.Dispose();
        _network = null;
        if (_directory.Length > 0 && Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }
}
