namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// The encoded commands of one forwarded batch (<see cref="ZkBatchCodec"/>), counting the bytes its
/// body will take as each is added — the first one too — so a batch never grows past what the
/// leader reads (<see cref="ZkLeaderEndpoints.MaxBody"/>): a body over it is refused unread.
/// </summary>
internal sealed class ZkForwardBatch(long maxBytes, int maxCount)
{
    private readonly List<byte[]> _commands = [];

    public IReadOnlyList<byte[]> Commands => _commands;

    /// <summary>The encoded body's length so far.</summary>
    public long Bytes { get; private set; } = ZkBatchCodec.HeaderBytes;

    public bool IsFull => _commands.Count >= maxCount;

    /// <summary>Adds <paramref name="command"/> unless the batch is full or it would take the body past the limit.</summary>
    public bool TryAdd(byte[] command)
    {
        var bytes = Bytes + ZkBatchCodec.ItemBytes(command.Length);
        if (IsFull || bytes > maxBytes)
            return false;
        _commands.Add(command);
        Bytes = bytes;
        return true;
    }
}
