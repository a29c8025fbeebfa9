namespace Mesh.Reliability.Tests.Nemesis;

/// <summary>
/// Which directed links between Raft peers are cut right now: the state the relays in front of
/// every node consult for each byte they forward. A partition cuts both directions between two
/// sides; a bridge cuts one pair both ways (the third node still sees both); one-way loss cuts
/// one direction only. Thread-safe; nodes are 0-based.
/// </summary>
internal sealed class PeerLinks(int nodes)
{
    private readonly bool[,] _cut = new bool[nodes, nodes];
    private readonly Lock _gate = new();

    public int Nodes { get; } = nodes;

    /// <summary>True when bytes from <paramref name="from"/> to <paramref name="to"/> are held.</summary>
    public bool IsCut(int from, int to)
    {
        lock (_gate)
            return _cut[from, to];
    }

    /// <summary>Cuts <paramref name="side"/> off from every other node, both ways.</summary>
    public void Isolate(IReadOnlyCollection<int> side)
    {
        lock (_gate)
        {
            foreach (var a in side)
            {
                foreach (var b in Enumerable.Range(0, Nodes).Except(side))
                {
                    _cut[a, b] = true;
                    _cut[b, a] = true;
                }
            }
        }
    }

    /// <summary>Cuts the link from <paramref name="from"/> to <paramref name="to"/> (and back, when <paramref name="bothWays"/>).</summary>
    public void Cut(int from, int to, bool bothWays)
    {
        lock (_gate)
        {
            _cut[from, to] = true;
            if (bothWays)
                _cut[to, from] = true;
        }
    }

    public void HealAll()
    {
        lock (_gate)
            Array.Clear(_cut);
    }

    /// <summary>The cut links as <c>0→1 1→0</c> (for the log).</summary>
    public override string ToString()
    {
        lock (_gate)
        {
            var cut = from a in Enumerable.Range(0, Nodes) from b in Enumerable.Range(0, Nodes) where _cut[a, b] select $"{a}→{b}";
            var text = string.Join(' ', cut);
            return text.Length == 0 ? "(none)" : text;
        }
    }
}
