// How many body bytes each endpoint may read: what its purpose needs and no more. The limit is
// set on the request (Kestrel's IHttpMaxRequestBodySizeFeature) before anything reads the body,
// so a larger declared body is refused before a byte of it is read and a larger streamed
// (chunked) one as soon as it passes the limit; nothing is buffered past it.
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Api.Limits;

/// <summary>The body limit of one request: bytes, the error code of a refusal, and what the body is for.</summary>
internal readonly record struct BodyLimit(long Bytes, string Code, string Purpose)
{
    public string Message(long? declared) =>
        $"the body of {Purpose} may be at most {BodyLimits.Describe(Bytes)}" + (declared is { } d ? $"; this one declares {d} bytes" : "; this one is larger");
}

internal static class BodyLimits
{
    /// <summary>A small JSON body (a signing request with its CSR, a session TTL, a revocation): 16 KiB.</summary>
    public const long SmallBodyBytes = 16 * 1024;

    /// <summary>The watches of a streaming watch sent as a form body (<c>POST /v1/watch-stream</c>): 512 paths of up to 500 bytes, escaped.</summary>
    public const long WatchStreamBodyBytes = 256 * 1024;

    /// <summary>The most <c>--max-txn-bytes</c> may be, and Kestrel's server-wide ceiling.</summary>
    public const long MaxConfigurableBytes = 64L * 1024 * 1024;

    public static BodyLimit For(string method, string path, RegistryLimits limits)
    {
        if (method is "POST" or "PUT" && (path == "/v1/nodes" || path.StartsWith("/v1/nodes/", StringComparison.Ordinal)))
            return new BodyLimit(NodeLimits.MaxDataBytes, ApiErrors.DataTooLarge, "node data");
        return (method, path) switch
        {
            ("POST", "/v1/txn") => new BodyLimit(limits.MaxTxnBytes, ApiErrors.BodyTooLarge, "a transaction (--max-txn-bytes)"),
            ("POST", "/v1/ca/sign") => new BodyLimit(SmallBodyBytes, ApiErrors.BodyTooLarge, "a signing request"),
            ("POST", "/v1/watch-stream") => new BodyLimit(WatchStreamBodyBytes, ApiErrors.BodyTooLarge, "a streaming watch's watches"),
            _ => new BodyLimit(SmallBodyBytes, ApiErrors.BodyTooLarge, $"{method} {path}"),
        };
    }

    public static string Describe(long bytes) =>
        bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MiB"
        : bytes % 1024 == 0 ? $"{bytes / 1024} KiB"
        : $"{bytes} bytes";
}
