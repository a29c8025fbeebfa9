using System.Text;
using Mesh.Registry.Consensus;

namespace Mesh.Registry.Tests.Consensus.LogStore;

/// <summary>A state machine that is the list of commands applied, as text; snapshots are that list.</summary>
internal sealed class RecordingStateMachine : IReplicatedStateMachine
{
    private readonly Lock _gate = new();
    private List<string> _applied = [];

    public long AppliedIndex { get; private set; }

    public long? RestoredFrom { get; private set; }

    public IReadOnlyList<string> Applied
    {
        get
        {
            lock (_gate)
                return [.. _applied];
        }
    }

    public object? Apply(long index, ReadOnlyMemory<byte> command)
    {
        lock (_gate)
        {
            _applied.Add(Encoding.UTF8.GetString(command.Span));
            AppliedIndex = index;
            return "ok " + index;
        }
    }

    public void ApplyNoOp(long index)
    {
        lock (_gate)
            AppliedIndex = index;
    }

    public void WriteSnapshot(Stream destination)
    {
        lock (_gate)
        {
            var bytes = Encoding.UTF8.GetBytes(string.Join('\n', _applied));
            destination.Write(bytes);
        }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _applied = [];
            AppliedIndex = 0;
        }
    }

    public void ReadSnapshot(Stream source, long index)
    {
        using var reader = new StreamReader(source);
        var text = reader.ReadToEnd();
        lock (_gate)
        {
            _applied = text.Length == 0 ? [] : [.. text.Split('\n')];
            AppliedIndex = index;
            RestoredFrom = index;
        }
    }
}
