using System.Buffers;
using System.Globalization;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Tree;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

/// <summary>What several endpoints read from a request: node paths, idempotency headers, node data, create modes and watch waits. Malformed input is a 400.</summary>
internal static class ApiRequest
{
    private static readonly TimeSpan DefaultWatchWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxWatchWait = TimeSpan.FromMinutes(5);

    /// <summary><c>{prefix}</c> and <c>{prefix}/</c> are the root; the rest of the URL path is the node path, checked by the core's rules.</summary>
    public static string NodePathOf(HttpContext context, string prefix)
    {
        var rest = context.Request.Path.Value![prefix.Length..];
        if (rest.Length <= 1)
            return NodePath.Root;
        if (!NodePath.IsValid(rest))
            throw new ApiException(400, ApiErrors.InvalidPath, $"'{rest}' is not a valid node path");
        return rest;
    }

    public static (Guid ClientId, long Sequence) IdempotencyOf(HttpContext context)
    {
        var headers = context.Request.Headers;
        var hasId = headers.TryGetValue("Mesh-Client-Id", out var idText);
        var hasSeq = headers.TryGetValue("Mesh-Request-Seq", out var seqText);
        if (!hasId && !hasSeq)
            return (Guid.Empty, 0);
        if (!hasId || !Guid.TryParse(idText.ToString(), out var id) || id == Guid.Empty)
            throw ApiException.BadRequest("Mesh-Client-Id must be a non-empty UUID when Mesh-Request-Seq is sent");
        if (!hasSeq || !long.TryParse(seqText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq <= 0)
            throw ApiException.BadRequest("Mesh-Request-Seq must be a positive integer when Mesh-Client-Id is sent");
        return (id, seq);
    }

    /// <summary>Reads a node data body; the request's body limit (1 MiB, set by <see cref="Limits.BodyLimitFilter"/>) refuses more while it streams.</summary>
    public static async Task<byte[]> ReadDataAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            if (read.IsCompleted)
            {
                var data = read.Buffer.ToArray();
                reader.AdvanceTo(read.Buffer.End);
                return data;
            }
            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    /// <summary>How long a watch or blocking query waits: <c>wait</c>, 30 s by default, at most 5 minutes.</summary>
    public static TimeSpan WaitOf(HttpContext context)
    {
        var text = context.Request.Query["wait"].ToString();
        if (text.Length == 0)
            return DefaultWatchWait;
        var wait = Query.Duration(text) ?? throw ApiException.BadRequest($"wait '{text}' is not a duration like 500ms, 30s or 2m");
        return wait > MaxWatchWait ? MaxWatchWait : wait;
    }

    public static CreateMode ModeOf(string? text) => text switch
    {
        null or "" or "persistent" => CreateMode.Persistent,
        "ephemeral" => CreateMode.Ephemeral,
        "sequential" => CreateMode.Sequential,
        "ephemeral_sequential" => CreateMode.EphemeralSequential,
        _ => throw ApiException.BadRequest($"mode '{text}' is not persistent, ephemeral, sequential or ephemeral_sequential"),
    };
}
