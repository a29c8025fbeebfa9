// Tests that read process-wide state: the retained heap, or metrics whose meters are shared by
// name across every sidecar in the process. xunit runs this collection after the parallel ones,
// with nothing else running.
namespace Mesh.Sidecar.Tests.Hostile;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "Runs alone (reads process-wide state)";
}
