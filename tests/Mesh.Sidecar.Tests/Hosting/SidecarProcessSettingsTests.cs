using System.Collections;
using Mesh.Sidecar.Hosting;

namespace Mesh.Sidecar.Tests.Hosting;

public sealed class SidecarProcessSettingsTests
{
    [Fact]
    public void Apply_OnAnEnvironmentWithoutThem_SetsInlineSocketCompletions_OneSocketThread_AndNoThreadPoolSpinning()
    {
        var environment = new Hashtable { ["PATH"] = "/usr/bin" };

        var applied = SidecarProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Equal("1", environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
        Assert.Equal("0", environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"]);
        Assert.Equal("1", environment["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"]);
        Assert.Equal(["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit", "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"], applied);
    }

    [Fact]
    public void Apply_KeepsWhatTheOperatorSet_AndSetsOnlyTheRest()
    {
        var environment = new Hashtable { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "0", ["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"] = "4" };

        var applied = SidecarProcessSettings.Apply(environment, (name, value) => environment[name] = value);

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

        var applied = SidecarProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Empty(applied);
        Assert.Equal("", environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"]);
    }
}
