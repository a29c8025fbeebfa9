using System.Collections;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Tests.Hosting;

public sealed class RegistryProcessSettingsTests
{
    [Fact]
    public void Apply_EmptyEnvironment_StopsIdleThreadPoolSpinning_AndLeavesSocketCompletionsAlone()
    {
        var environment = new Hashtable();

        var applied = RegistryProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Equal("0", environment[RegistryProcessSettings.SpinLimitVariable]);
        Assert.False(environment.Contains(RegistryProcessSettings.InlineCompletionsVariable));
        Assert.Equal([RegistryProcessSettings.SpinLimitVariable], applied);
    }

    [Fact]
    public void Apply_OperatorSetTheSpinLimit_KeepsTheOperatorsValue()
    {
        var environment = new Hashtable { [RegistryProcessSettings.SpinLimitVariable] = "46" };

        var applied = RegistryProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Equal("46", environment[RegistryProcessSettings.SpinLimitVariable]);
        Assert.Empty(applied);
    }
}
