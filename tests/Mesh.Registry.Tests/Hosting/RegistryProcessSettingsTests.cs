using System.Collections;
using Mesh.Common.Hosting;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Tests.Hosting;

public sealed class RegistryProcessSettingsTests
{
    [Fact]
    public void Apply_EmptyEnvironment_StopsIdleThreadPoolSpinning_AndLeavesSocketCompletionsAlone()
    {
        var environment = new Hashtable();

        var applied = RegistryProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Equal("0", environment[RuntimeVariables.ThreadPoolSpinLimit]);
        Assert.False(environment.Contains(RuntimeVariables.InlineSocketCompletions));
        Assert.Equal([RuntimeVariables.ThreadPoolSpinLimit], applied);
    }

    [Fact]
    public void Apply_OperatorSetTheSpinLimit_KeepsTheOperatorsValue()
    {
        var environment = new Hashtable { [RuntimeVariables.ThreadPoolSpinLimit] = "46" };

        var applied = RegistryProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Equal("46", environment[RuntimeVariables.ThreadPoolSpinLimit]);
        Assert.Empty(applied);
    }
}
