namespace Mesh.Reliability.Tests.Linearizability;

/// <summary>An immutable set of operation indexes with value equality: half of a search cache key.</summary>
internal sealed class Bitset : IEquatable<Bitset>
{
    private readonly ulong[] _words;
    private readonly int _hash;

    public Bitset(int size) : this(new ulong[(size + 63) / 64])
    {
    }

    private Bitset(ulong[] words)
    {
        _words = words;
        var hash = new HashCode();
        foreach (var word in words)
            hash.Add(word);
        _hash = hash.ToHashCode();
    }

    public bool Contains(int index) => (_words[index >> 6] & (1UL << (index & 63))) != 0;

    public Bitset With(int index)
    {
        var words = (ulong[])_words.Clone();
        words[index >> 6] |= 1UL << (index & 63);
        return new Bitset(words);
    }

    public Bitset Without(int index)
    {
        var words = (ulong[])_words.Clone();
        words[index >> 6] &= ~(1UL << (index & 63));
        return new Bitset(words);
    }

    public bool Equals(Bitset? other) => other is not null && _hash == other._hash && _words.AsSpan().SequenceEqual(other._words);

    public override bool Equals(object? obj) => Equals(obj as Bitset);

    public override int GetHashCode() => _hash;
}
