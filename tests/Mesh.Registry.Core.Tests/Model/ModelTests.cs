using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Mesh.Registry.Core.Commands;

namespace Mesh.Registry.Core.Tests.Model;

/// <summary>Random runs against the reference model: every result, every event and the whole state after every step.</summary>
public sealed class ModelTests
{
    [Property(MaxTest = 200)]
    public Property Apply_RandomCommands_MatchesReferenceModelAfterEveryStep() =>
        Prop.ForAll(Scenario.Steps, steps =>
        {
            var machine = new RegistryStateMachine();
            var model = new ReferenceModel();
            foreach (var (index, command) in Scenario.Build(steps))
            {
                var result = machine.Apply(index, command);
                Assert.Equal(Scenario.ApplyTo(model, index, command).Render(), Scenario.Render(result));
                Assert.All(result.Events, e => Assert.Equal(index, e.Index));
                Assert.Equal(Scenario.Observe(model), Scenario.Observe(machine));
                Assert.Equal(index, machine.AppliedIndex);
            }
        });

    [Property(MaxTest = 60)]
    public Property WriteSnapshot_AtEveryStep_RestoresToSameBytesAndSameBehaviour() =>
        Prop.ForAll(Scenario.Steps, steps =>
        {
            var machine = new RegistryStateMachine();
            var model = new ReferenceModel();
            foreach (var (index, command) in Scenario.Build(steps))
            {
                var result = machine.Apply(index, command);
                Assert.Equal(Scenario.ApplyTo(model, index, command).Render(), Scenario.Render(result));

                var bytes = Snapshot(machine);
                var restored = RegistryStateMachine.ReadSnapshot(new MemoryStream(bytes));
                Assert.Equal(bytes, Snapshot(restored));
                Assert.Equal(Scenario.Observe(machine), Scenario.Observe(restored));
                Assert.Equal(machine.AppliedIndex, restored.AppliedIndex);

                // Carry on with the restored copy half of the time: it must behave the same.
                if (index % 2 == 0)
                {
                    machine = restored;
                }
            }
        });

    [Property(MaxTest = 60)]
    public Property Apply_SameCommandsOnTwoMachinesViaCodec_GivesIdenticalSnapshotBytes() =>
        Prop.ForAll(Scenario.Steps, steps =>
        {
            var direct = new RegistryStateMachine();
            var decoded = new RegistryStateMachine();
            foreach (var (index, command) in Scenario.Build(steps))
            {
                var a = direct.Apply(index, command);
                var b = decoded.Apply(index, CommandCodec.Decode(CommandCodec.Encode(command)));
                Assert.Equal(Scenario.Render(a), Scenario.Render(b));
            }

            Assert.Equal(Snapshot(direct), Snapshot(decoded));
        });

    private static byte[] Snapshot(RegistryStateMachine machine)
    {
        var stream = new MemoryStream();
        machine.WriteSnapshot(stream);
        return stream.ToArray();
    }
}
