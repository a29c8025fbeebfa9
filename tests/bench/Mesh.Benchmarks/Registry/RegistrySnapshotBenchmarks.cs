using BenchmarkDotNet.Attributes;
using Mesh.Registry.Core;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Tree;

namespace Mesh.Benchmarks.Registry;

/// <summary>Snapshot write and restore of 1M small nodes (1000 parents × 1000 children, 16-byte data).</summary>
[MemoryDiagnoser]
public class RegistrySnapshotBenchmarks
{
    private RegistryStateMachine _machine = null!;
    private MemoryStream _output = null!;
    private byte[] _snapshot = null!;

    [GlobalSetup]
    public void Setup()
    {
        _machine = Build(1_000, 1_000);
        _output = new MemoryStream(64 << 20);
        _machine.WriteSnapshot(_output);
        _snapshot = _output.ToArray();
    }

    [Benchmark]
    public long WriteSnapshot()
    {
        _output.Position = 0;
        _machine.WriteSnapshot(_output);
        return _output.Position;
    }

    [Benchmark]
    public int ReadSnapshot() => RegistryStateMachine.ReadSnapshot(new MemoryStream(_snapshot, writable: false)).NodeCount;

    internal static RegistryStateMachine Build(int parents, int childrenPerParent)
    {
        var machine = new RegistryStateMachine();
        var header = CommandHeader.At(1_764_080_000_000);
        var data = new byte[16];
        long index = 0;
        for (var p = 0; p < parents; p++)
        {
            machine.Apply(++index, new CreateNode(header, $"/p{p:D4}", data));
            for (var c = 0; c < childrenPerParent; c++)
            {
                machine.Apply(++index, new CreateNode(header, $"/p{p:D4}/node-{c:D6}", data));
            }
        }

        return machine;
    }
}
