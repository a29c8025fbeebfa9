using System.Collections;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;

namespace Mesh.Sidecar.Tests.Hosting;

public sealed class SidecarProcessSettingsTests
{
    private const string Plaintext = """
        service: { name: frontend, namespace: shop }
        app: { address: http://127.0.0.1:8080 }
        """;

    [Fact]
    public void Apply_OnAnEnvironmentWithoutThem_SetsOneSocketThread_AndNoThreadPoolSpinning()
    {
        var environment = new Hashtable { ["PATH"] = "/usr/bin" };

        var applied = SidecarProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Equal("0", environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"]);
        Assert.Equal("1", environment["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"]);
        Assert.Equal(["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"], applied);
    }

    [Fact]
    public void ApplyFor_APlaintextSidecar_SetsInlineSocketCompletions()
    {
        var environment = new Hashtable();

        var applied = SidecarProcessSettings.ApplyFor(SidecarConfigLoader.Parse(Plaintext, "sidecar.yaml"), environment, (name, value) => environment[name] = value);

        Assert.Equal("1", environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
        Assert.Equal(["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"], applied);
    }

    [Theory]
    [InlineData("strict")]
    [InlineData("permissive")]
    public void ApplyFor_ASidecarWithMeshTls_KeepsSocketCompletionsOffTheEngineThread(string mode)
    {
        var environment = new Hashtable();
        var config = SidecarConfigLoader.Parse(Plaintext + $"\ntls: {{ mode: {mode}, joinToken: shop-join-token-0123456789 }}\nregistry: {{ addresses: [http://127.0.0.1:2181] }}\n", "sidecar.yaml");

        SidecarProcessSettings.ApplyFor(config, environment, (name, value) => environment[name] = value);

        Assert.Equal("0", environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
    }

    [Fact]
    public void Apply_KeepsWhatTheOperatorSet_AndSetsOnlyTheRest()
    {
        var environment = new Hashtable { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "0", ["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"] = "4" };

        var applied = SidecarProcessSettings.Apply(environment, (name, value) => environment[name] = value)
            .Concat(SidecarProcessSettings.ApplyFor(SidecarConfigLoader.Parse(Plaintext, "sidecar.yaml"), environment, (name, value) => environment[name] = value));

        Assert.Equal("0", environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
        Assert.Equal("4", environment["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"]);
        Assert.Equal("0", environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"]);
        Assert.Equal(["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"], applied);
    }

    [Fact]
    public void Apply_AnEmptyValueCountsAsSet()
    {
        // `VAR= mesh sidecar` is an operator's choice too: the runtime reads it as "not 1", so off.
        var environment = new Hashtable { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "", ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "70", ["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"] = "2" };

        var applied = SidecarProcessSettings.Apply(environment, (name, value) => environment[name] = value)
            .Concat(SidecarProcessSettings.ApplyFor(SidecarConfigLoader.Parse(Plaintext, "sidecar.yaml"), environment, (name, value) => environment[name] = value));

        Assert.Empty(applied);
        Assert.Equal("", environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
    }
}
