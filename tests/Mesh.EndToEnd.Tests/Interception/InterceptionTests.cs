using System.Globalization;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.EndToEnd.Tests.Interception;

/// <summary>
/// Issue #11 in real network namespaces: the app calls the remote service's address as if there
/// were no mesh, and `mesh iptables` + the sidecar's original-destination routing do the rest.
/// Runs as root (as CI does); elsewhere each test is reported skipped, saying why.
/// </summary>
public sealed class InterceptionTests(InterceptedPods pods) : IClassFixture<InterceptedPods>
{
    private void RequireTools() => RequiredTool.Check(pods.SkipReason);

    /// <summary>Retries while the client sidecar is still learning the service's endpoints.</summary>
    private async Task<(int Status, string Body, int ExitCode)> CallUntilAnsweredAsync(string url, int? uid = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var result = InterceptedPods.Curl(pods.Network.Client, uid, url, "-i");
            if (result.Status == 200 || DateTime.UtcNow > deadline)
                return result;
            await Task.Delay(250);
        }
    }

    [SkippableFact]
    public async Task AnUnmodifiedCall_ToTheRemoteServicesAddress_IsIntercepted_CarriedOverMutualTls_AndAnswered()
    {
        RequireTools();
        var before = InboundTls();

        // Plain curl, as root: an app that knows nothing of the mesh.
        var (status, body, _) = await CallUntilAnsweredAsync($"http://{pods.ServiceAddress}:{InterceptedPods.AppPort}/inventory/sku-42");

        Assert.True(status == 200, $"status {status}: {body}\n{pods.Logs()}");
        Assert.Contains("\"sku\":\"sku-42\"", body, StringComparison.Ordinal);
        Assert.Contains("x-shop-version: v1", body, StringComparison.OrdinalIgnoreCase);
        // The inventory app listens on its pod's loopback only: the answer came through its sidecar, over TLS 1.3.
        var after = InboundTls();
        Assert.True(after.Tls13 > before.Tls13, $"inbound TLS 1.3 requests {before.Tls13} -> {after.Tls13}");
        Assert.Equal(0, after.Plaintext);
    }

    [SkippableFact]
    public async Task TheSidecarsOwnTraffic_IsNotLoopedBack()
    {
        RequireTools();
        var url = $"http://{pods.ServiceAddress}:{InterceptedPods.AppPort}/inventory/sku-42";
        Assert.Equal(200, (await CallUntilAnsweredAsync(url)).Status);

        // The same call from the sidecar's uid is not redirected: it goes to the network as sent,
        // where nothing listens on that port (the app is on the server pod's loopback).
        var (status, _, exitCode) = InterceptedPods.Curl(pods.Network.Client, InterceptedPods.ProxyUid, url);

        Assert.Equal(0, status);
        Assert.Equal(7, exitCode); // curl: "Failed to connect"
        // And the client sidecar, uid 1337 itself, reached the registry and the server sidecar directly: it is ready and routed the call above.
        Assert.Equal(200, InterceptedPods.Curl(pods.Network.Client, null, "http://127.0.0.1:15000/readyz").Status);
    }

    [SkippableFact]
    public async Task Http_ToADestinationTheMeshDoesNotKnow_PassesThroughUnchanged()
    {
        RequireTools();

        // The registry's client port is not a mesh service: intercepted, then sent on as it was.
        var (status, body, _) = await CallUntilAnsweredAsync($"http://{pods.ServiceAddress}:{InterceptedPods.RegistryPort}/readyz");

        Assert.True(status == 200, $"status {status}: {body}\n{pods.Logs()}");
        Assert.DoesNotContain("x-mesh-error", body, StringComparison.OrdinalIgnoreCase);

        // A host name that is no service: looked up once, then passed through without waiting on discovery.
        var url = $"http://{pods.ServiceAddress}:{InterceptedPods.RegistryPort}/readyz";
        Assert.Equal(200, InterceptedPods.Curl(pods.Network.Client, null, url, "-H", "Host: registry.example").Status);
        // That the second lookup does not wait for discovery again is EndpointCatalogTests' job, on scripted time.
        var again = InterceptedPods.Curl(pods.Network.Client, null, url, "-H", "Host: registry.example");
        Assert.Equal(200, again.Status);
    }

    [SkippableFact]
    public async Task NonHttpTraffic_ToAnUnknownDestination_IsSplicedByteForByte()
    {
        RequireTools();
        const int port = 9009;
        // A one-shot TCP echo server in the server pod, outside the mesh.
        await using var echo = PodProcess.Start("echo", pods.Network.Server, null,
        [
            "python3", "-c",
            $"import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{pods.ServiceAddress}',{port}))\ns.listen()\nprint('listening',flush=True)\n"
            + "c,_=s.accept()\nd=c.recv(100)\nc.sendall(b'echo:'+d)\nc.close()",
        ]);
        await echo.WaitForTextAsync("listening", TimeSpan.FromSeconds(10));

        // Binary, not HTTP: the sidecar must not try to parse it.
        var (exitCode, reply) = PodNetwork.Exec(pods.Network.Client, null, "python3", "-c",
            $"import socket\ns=socket.create_connection(('{pods.ServiceAddress}',{port}),timeout=10)\ns.sendall(b'\\x00\\x01hello')\nprint(s.recv(100))");

        Assert.True(exitCode == 0, reply + echo.Output);
        Assert.Equal("b'echo:\\x00\\x01hello'", reply.Trim());
    }

    [SkippableFact]
    public async Task AServerFirstProtocol_IsPassedThroughOnceTheClientStaysSilent()
    {
        RequireTools();
        const int port = 9010;
        // Like SMTP or MySQL: the server speaks first, the client only listens.
        await using var greeter = PodProcess.Start("greeter", pods.Network.Server, null,
        [
            "python3", "-c",
            $"import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{pods.ServiceAddress}',{port}))\ns.listen()\nprint('listening',flush=True)\n"
            + "c,_=s.accept()\nc.sendall(b'220 hello\\r\\n')\nprint('client said', c.recv(100), flush=True)\nc.close()",
        ]);
        await greeter.WaitForTextAsync("listening", TimeSpan.FromSeconds(10));

        var (exitCode, reply) = PodNetwork.Exec(pods.Network.Client, null, "python3", "-c",
            $"import socket\ns=socket.create_connection(('{pods.ServiceAddress}',{port}),timeout=10)\nprint(s.recv(100))\ns.sendall(b'QUIT')\ns.close()");

        Assert.True(exitCode == 0, reply + greeter.Output);
        Assert.Equal("b'220 hello\\r\\n'", reply.Trim());
        await greeter.WaitForTextAsync("client said", TimeSpan.FromSeconds(10));
        Assert.Contains("client said b'QUIT'", greeter.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ExplicitMode_TheAppCallingTheOutboundPortByServiceName_StillWorks()
    {
        RequireTools();
        await CallUntilAnsweredAsync($"http://{pods.ServiceAddress}:{InterceptedPods.AppPort}/inventory/sku-1");

        var (status, body, _) = InterceptedPods.Curl(pods.Network.Client, null, "http://127.0.0.1:15001/inventory/sku-7", "-H", "Host: inventory");

        Assert.True(status == 200, $"status {status}: {body}");
        Assert.Contains("\"sku\":\"sku-7\"", body, StringComparison.Ordinal);
    }

    /// <summary>The server sidecar's inbound TLS counters (admin /config_dump).</summary>
    private (long Tls13, long Plaintext) InboundTls()
    {
        var (status, body, _) = InterceptedPods.Curl(pods.Network.Server, null, "http://127.0.0.1:15000/config_dump");
        Assert.Equal(200, status);
        var requests = ConfigDump.Parse(body).Tls.InboundRequests!;
        return (requests.Tls13, requests.Plaintext);
    }
}

/// <summary>`mesh iptables --cleanup` in a namespace of its own: it must take back exactly what it added.</summary>
public sealed class IptablesCleanupTests
{
    [SkippableFact]
    public void Cleanup_RestoresTheNatTableExactlyAsItWas_KeepingOtherRules()
    {
        RequiredTool.Check(PodNetwork.Unavailable());
        using var network = PodNetwork.Create();
        var ns = network.Client;
        var mesh = Path.Combine(AppContext.BaseDirectory, "mesh.dll");
        // Someone else's rule: it must survive untouched.
        Assert.Equal(0, PodNetwork.Exec(ns, null, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", network.ServerAddress, "--dport", "5432", "-j", "RETURN").ExitCode);
        var original = PodNetwork.NatTable(ns);

        var install = PodNetwork.Exec(ns, null, "dotnet", mesh, "iptables", "--proxy-uid", "1337", "--exclude-inbound-ports", "15000", "--exclude-outbound-cidrs", "169.254.169.254/32");
        Assert.True(install.ExitCode == 0, install.Output);
        var installed = PodNetwork.NatTable(ns);
        Assert.Contains("-A OUTPUT -p tcp -j MESH_OUTPUT", installed, StringComparison.Ordinal);
        Assert.Contains("-A MESH_OUTPUT -d 169.254.169.254/32 -j RETURN", installed, StringComparison.Ordinal);
        // Installing again replaces, it does not stack.
        Assert.Equal(0, PodNetwork.Exec(ns, null, "dotnet", mesh, "iptables", "--proxy-uid", "1337").ExitCode);
        Assert.Single(PodNetwork.NatTable(ns).Split('\n'), line => line == "-A OUTPUT -p tcp -j MESH_OUTPUT");

        var cleanup = PodNetwork.Exec(ns, null, "dotnet", mesh, "iptables", "--cleanup");

        Assert.True(cleanup.ExitCode == 0, cleanup.Output);
        var after = PodNetwork.NatTable(ns);
        Assert.DoesNotContain("MESH_", after, StringComparison.Ordinal);
        Assert.Equal(original, after);
    }
}
