using BenchmarkDotNet.Attributes;
using Mesh.Registry.Core;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Tree;

namespace Mesh.Benchmarks.Registry;

/// <summary>
/// Apply throughput of the registry core on a tree of 100k nodes (100 parents × 1000 children).
/// Each benchmark op is <see cref="Batch"/> commands; BenchmarkDotNet reports time per command.
/// Every call applies for real: commands either carry no client id or a client id with a fresh,
/// increasing sequence number, so none is answered from the retry table.
/// </summary>
[MemoryDiagnoser]
public class RegistryApplyBenchmarks
{
    private const int Batch = 1000;
    private const int Parents = 100;
    private const int ChildrenPerParent = 1000;
    private const long Time = 1_764_080_000_000;

    private readonly byte[] _data = new byte[32];
    private readonly Guid _client = Guid.NewGuid();
    private RegistryStateMachine _machine = null!;
    private string[] _paths = null!;
    private SetData[] _sets = null!;
    private CreateNode[] _creates = null!;
    private DeleteNode[] _deletes = null!;
    private CreateNode _sequential = null!;
    private long _index;
    private long _sequence;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _machine = new RegistryStateMachine();
        _paths = new string[Parents * ChildrenPerParent];
        var header = CommandHeader.At(Time);
        for (var i = 0; i < _paths.Length; i++)
        {
            _paths[i] = $"/svc/p{i / ChildrenPerParent:D3}/n{i % ChildrenPerParent:D4}";
            _machine.Apply(++_index, new CreateNode(header, _paths[i], _data, CreateMode.Persistent, 0, CreateParents: true));
        }

        _sets = _paths.Select(p => new SetData(header, p, _data)).ToArray();
        // One extra child per parent, sorted between existing names, created and deleted again.
        _creates = Enumerable.Range(0, Parents).Select(p => new CreateNode(header, $"/svc/p{p:D3}/n0500x", _data)).ToArray();
        _deletes = _creates.Select(c => new DeleteNode(header, c.Path)).ToArray();
        _machine.Apply(++_index, new CreateNode(header, "/queue", default));
        _sequential = new CreateNode(header, "/queue/item-", _data, CreateMode.Sequential);
    }

    /// <summary>Set data on an existing node (no client id: the command a server issues).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long SetData()
    {
        long version = 0;
        for (var i = 0; i < Batch; i++)
        {
            version += _machine.Apply(++_index, _sets[_next++ % _sets.Length]).Stat.Version;
        }

        return version;
    }

    /// <summary>Set data as a client write: a client id and a new sequence number, recorded for retries.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long SetDataFromClient()
    {
        long version = 0;
        for (var i = 0; i < Batch; i++)
        {
            var path = _paths[_next++ % _paths.Length];
            version += _machine.Apply(++_index, new SetData(new CommandHeader(_client, ++_sequence, Time), path, _data)).Stat.Version;
        }

        return version;
    }

    /// <summary>Create a child among 1000 siblings, then delete it: two applies, the tree stays at 100k nodes.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long CreateAndDelete()
    {
        long created = 0;
        for (var i = 0; i < Batch / 2; i++)
        {
            var p = _next++ % Parents;
            created += _machine.Apply(++_index, _creates[p]).Stat.CreatedIndex;
            _machine.Apply(++_index, _deletes[p]);
        }

        return created;
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

    /// <summary>Sequential creates under one parent (its child list grows for the whole run).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long CreateSequential()
    {
        long created = 0;
        for (var i = 0; i < Batch; i++)
        {
            created += _machine.Apply(++_index, _sequential).Stat.CreatedIndex;
        }

        return created;
    }
}
