using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;

namespace Mesh.Registry.ZooKeeper;

/// <summary>Length-prefixed frames off a pipe, refusing lengths outside 0 .. jute.maxbuffer before buffering anything.</summary>
internal static class ZkFrames
{
    /// <summary>The next frame's bytes; null when the client closed cleanly between frames.</summary>
    public static async ValueTask<byte[]?> ReadAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryTake(ref buffer, out var frame))
            {
                input.AdvanceTo(buffer.Start);
                return frame;
            }
            if (result.IsCompleted)
            {
                var left = buffer.Length;
                input.AdvanceTo(buffer.End);
                return left == 0 ? null : throw new JuteFormatException($"the connection closed inside a frame ({left} bytes of it received)");
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>The first 4 bytes of a connection without consuming them (a four-letter word or a frame length); null when it closed first.</summary>
    public static async ValueTask<byte[]?> PeekFirstAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.Length >= 4)
            {
                var first = result.Buffer.Slice(0, 4).ToArray();
                input.AdvanceTo(result.Buffer.Start);
                return first;
            }
            if (result.IsCompleted)
            {
                input.AdvanceTo(result.Buffer.End);
                return null;
            }
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>
    /// True when a whole frame is already buffered (the client sent more requests than were read):
    /// the serve loop then writes the replies without flushing them one by one. Consumes nothing.
    /// </summary>
    public static bool HasBufferedFrame(PipeReader input)
    {
        if (!input.TryRead(out var result))
            return false;
        var buffer = result.Buffer;
        var whole = false;
        if (buffer.Length >= 4)
        {
            Span<byte> prefix = stackalloc byte[4];
            buffer.Slice(0, 4).CopyTo(prefix);
            var length = BinaryPrimitives.ReadInt32BigEndian(prefix);
            // A bad length is the next ReadAsync's to report; here it only means "flush now".
            whole = length is >= 0 and <= ZkLimits.MaxFrameBytes && buffer.Length >= 4 + length;
        }
        input.AdvanceTo(buffer.Start);
        return whole;
    }

    private static bool TryTake(ref ReadOnlySequence<byte> buffer, out byte[]? frame)
    {
        frame = null;
        if (buffer.Length < 4)
            return false;
        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        var length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (length is < 0 or > ZkLimits.MaxFrameBytes)
            throw new JuteFormatException($"frame length {length} is outside 0 .. {ZkLimits.MaxFrameBytes} (jute.maxbuffer)");
        if (buffer.Length < 4 + length)
            return false;
        frame = buffer.Slice(4, length).ToArray();
        buffer = buffer.Slice(4 + length);
        return true;
    }
}
