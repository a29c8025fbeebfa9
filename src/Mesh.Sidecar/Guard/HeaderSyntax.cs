// Header names and values Kestrel lets through but RFC 9110 forbids: names outside the token
// characters (e.g. `Bad(Header)`) and values with control characters. Left alone, the forwarder
// silently drops such a name and passes such a value on to the app, where another parser may
// read it differently; the sidecar refuses the request instead.
using System.Buffers;
using Mesh.Sidecar.Forwarder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Mesh.Sidecar.Guard;

internal static class HeaderSyntax
{
    // RFC 9110 §5.6.2: token = 1*tchar.
    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    // RFC 9110 §5.5: field values are visible characters, spaces, tabs and obs-text; never other controls.
    private static readonly SearchValues<char> ControlChars = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000a\u000b\u000c\u000d\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f");

    /// <summary>Answers 400 and returns true when a header name or value is invalid.</summary>
    public static bool TryReject(HttpContext context, out Task response)
    {
        // Copied out rather than enumerated: IHeaderDictionary's enumerator is a boxed struct, an
        // allocation per request; CopyTo into a pooled array is none (Kestrel's copies its fields).
        var headers = context.Request.Headers;
        var count = headers.Count;
        var copy = ArrayPool<KeyValuePair<string, StringValues>>.Shared.Rent(count);
        try
        {
            headers.CopyTo(copy, 0);
            foreach (var (name, values) in copy.AsSpan(0, count))
            {
                // HTTP/2 and HTTP/3 pseudo-headers (":authority") were validated by their own parsers.
                var isPseudo = name.StartsWith(':');
                var badName = !isPseudo && (name.Length == 0 || name.AsSpan().IndexOfAnyExcept(TokenChars) >= 0);
                if (badName || HasControlChar(values))
                {
                    // The offending text is not echoed back: it is attacker-chosen.
                    response = MeshErrors.WriteAsync(context, StatusCodes.Status400BadRequest, MeshErrors.InvalidHeader,
                        badName ? "a header name is not a valid token" : "a header value contains control characters", closeConnection: true);
                    return true;
                }
            }
        }
        finally
        {
            // Cleared, so the pool does not keep this request's strings alive.
            ArrayPool<KeyValuePair<string, StringValues>>.Shared.Return(copy, clearArray: true);
        }
        response = Task.CompletedTask;
        return false;
    }

    private static bool HasControlChar(StringValues values)
    {
        foreach (var value in values)
        {
            if (value is not null && value.AsSpan().IndexOfAny(ControlChars) >= 0)
                return true;
        }
        return false;
    }
}
