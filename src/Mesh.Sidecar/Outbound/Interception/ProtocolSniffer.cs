// Is an intercepted connection HTTP? Only HTTP can be routed by the mesh; anything else (TLS the
// app speaks itself, database protocols) is passed through untouched. HTTP/1.x starts with a
// method token and a space; h2c prior knowledge starts with "PRI * HTTP/2.0", which fits too.
using System.Buffers;

namespace Mesh.Sidecar.Outbound.Interception;

internal enum SniffResult
{
    NeedMore,
    Http,
    NotHttp,
}

internal static class ProtocolSniffer
{
    /// <summary>Longer than any method in use (the longest registered is 17 characters).</summary>
    private const int MaxMethodLength = 20;

    public static SniffResult Classify(ReadOnlySequence<byte> buffer)
    {
        var length = 0;
        foreach (var segment in buffer)
        {
            foreach (var b in segment.Span)
            {
                if (b == (byte)' ')
                    return length > 0 ? SniffResult.Http : SniffResult.NotHttp;
                // Methods are tokens; every one in use is upper-case letters (and '-', as in VERSION-CONTROL).
                if (b is not ((>= (byte)'A' and <= (byte)'Z') or (byte)'-') || ++length > MaxMethodLength)
                    return SniffResult.NotHttp;
            }
        }
        return SniffResult.NeedMore;
    }
}
