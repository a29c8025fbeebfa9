using BenchmarkDotNet.Attributes;
using Mesh.Registry.Core;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Tree;

namespace Mesh.Benchmarks.Registry;

/// <summary>
/// Apply throughput of the registry core on a tree of 100k nodes (100 parents × 1000 children).
/// Each benchmark op is <see cref="Batch"/> commands; BenchmarkDotNet reports time per command.
/// </summary>
[MemoryDiagnoser]
public class RegistryApplyBenchmarks
{
    private const int Batch = 1000;
    private const int Parents = 100;
    private const int ChildrenPerParent = 1000;

    private readonly byte[] _data = new byte[32];
    private RegistryStateMachine _machine = null!;
    private string[] _paths = null!;
    private SetData[] _sets = null!;
    private CreateNode _create = null!;
    private long _index;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _machine = new RegistryStateMachine();
        _paths = new string[Parents * ChildrenPerParent];
        var header = CommandHeader.At(1_764_080_000_000);
        for (var i = 0; i < _paths.Length; i++)
        {
            _paths[i] = $"/svc/p{i / ChildrenPerParent:D3}/n{i % ChildrenPerParent:D4}";
            _machine.Apply(++_index, new CreateNode(header, _paths[i], _data, CreateMode.Persistent, 0, CreateParents: true));
        }

        _sets = _paths.Select(p => new SetData(new CommandHeader(Guid.NewGuid(), 1, 1_764_080_000_000), p, _data)).ToArray();
        _machine.Apply(++_index, new CreateNode(header, "/queue", default));
        _create = new CreateNode(header, "/queue/item-", _data, CreateMode.Sequential);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long SetData()
    {
        long version = 0;
        for (var i = 0; i < Batch; i++)
        {
            var set = _sets[_next++ % _sets.Length];
            version += _machine.Apply(++_index, set).Stat.Version;
        }

        return version;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long GetNode()
    {
        long length = 0;
        for (var i = 0; i < Batch; i++)
        {
            length += _machine.GetNode(_paths[_next++ % _paths.Length]).Stat.DataLength;
        }

        return length;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long CreateSequential()
    {
        long created = 0;
        for (var i = 0; i < Batch; i++)
        {
            created += _machine.Apply(++_index, _create).Stat.CreatedIndex;
        }

        return created;
    }
}
