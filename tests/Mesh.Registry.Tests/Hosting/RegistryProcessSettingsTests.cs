using System.Collections;
using Mesh.Registry.Hosting;

namespace Mesh.Registry.Tests.Hosting;

public sealed class RegistryProcessSettingsTests
{
    [Fact]
    public void Apply_EmptyEnvironment_SetsInlineSocketCompletionsAndNoSpinning()
    {
        var environment = new Hashtable();

        var applied = RegistryProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Equal("1", environment[RegistryProcessSettings.InlineCompletionsVariable]);
        Assert.Equal("0", environment[RegistryProcessSettings.SpinLimitVariable]);
        Assert.Equal([RegistryProcessSettings.InlineCompletionsVariable, RegistryProcessSettings.SpinLimitVariable], applied);
    }

    [Fact]
    public void Apply_OperatorSetAVariable_KeepsTheOperatorsValue_AndSetsOnlyTheOther()
    {
        var environment = new Hashtable { [RegistryProcessSettings.InlineCompletionsVariable] = "0" };

        var applied = RegistryProcessSettings.Apply(environment, (name, value) => environment[name] = value);

        Assert.Equal("0", environment[RegistryProcessSettings.InlineCompletionsVariable]);
        Assert.Equal("0", environment[RegistryProcessSettings.SpinLimitVariable]);
        Assert.Equal([RegistryProcessSettings.SpinLimitVariable], applied);
    }
}
