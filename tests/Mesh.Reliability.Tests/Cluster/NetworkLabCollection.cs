namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// The tests that build a <see cref="NetworkLab"/>. A lab's namespaces, veths and subnet are named
/// after the test process, so two labs of one process cannot exist at once: xunit runs the
/// classes of one collection one after another.
/// </summary>
[CollectionDefinition(Name)]
public sealed class NetworkLabCollection
{
    public const string Name = "network lab";
}
