using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.EndToEnd.Tests.Interception;

/// <summary>
/// A misconfiguration, made on purpose: the sidecar runs as root, not as the uid `mesh iptables`
/// exempts, so its own pass-through connection is redirected back to it. The loop guard must end
/// that at once with an error that says what is wrong, instead of connections spawning connections.
/// </summary>
public sealed class LoopGuardTests
{
    [SkippableFact]
    public async Task ASidecarNotRunningAsTheExemptUid_RefusesItsOwnRedirectedConnection_AndSaysWhy()
    {
        RequiredTool.Check(PodNetwork.Unavailable());
        using var network = PodNetwork.Create();
        var directory = Directory.CreateTempSubdirectory("mesh-loop-").FullName;
        try
        {
            var config = Path.Combine(directory, "sidecar.yaml");
            File.WriteAllText(config, "service: { name: frontend }\ndrainTime: 0s\n");
            var mesh = Path.Combine(AppContext.BaseDirectory, "mesh.dll");
            await using var sidecar = PodProcess.Start("sidecar", network.Client, null, ["dotnet", mesh, "sidecar", "--config", config]);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (InterceptedPods.Curl(network.Client, null, "http://127.0.0.1:15000/healthz").Status != 200)
            {
                Assert.True(DateTime.UtcNow < deadline && !sidecar.HasExited, "the sidecar did not start:\n" + sidecar.Output);
                await Task.Delay(200);
            }
            var install = PodNetwork.Exec(network.Client, null, "dotnet", mesh, "iptables", "--proxy-uid", "1337");
            Assert.True(install.ExitCode == 0, install.Output);

            // Nothing in the mesh: HTTP to it is passed through, by a sidecar whose traffic is not exempt.
            var (status, body, _) = InterceptedPods.Curl(network.Client, null, $"http://{network.ServerAddress}:9999/", "-i");

            // A loop would end in curl's own timeout (status 0), not in the sidecar's 502.
            Assert.Equal(502, status);
            Assert.Contains("x-mesh-error: upstream-unavailable", body, StringComparison.OrdinalIgnoreCase);
            await sidecar.WaitForTextAsync("redirected back to it", TimeSpan.FromSeconds(5));
            Assert.Contains("run the sidecar as the uid given to `mesh iptables --proxy-uid`", sidecar.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
