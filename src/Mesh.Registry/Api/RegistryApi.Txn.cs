using System.Text.Json;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

internal sealed partial class RegistryApi
{
    private async Task TxnAsync(HttpContext context)
    {
        var (clientId, seq) = IdempotencyOf(context);
        var ops = await ParseTxnAsync(context).ConfigureAwait(false);
        AuthorizeWrites(context, ops);
        var result = await WriteOwnedAsync(context, new Transaction(HeaderFor(context, clientId, seq), ops)).ConfigureAwait(false);
        if (result.FailedOp < 0 && result.IsOk)
        {
            await ApiJson.WriteAsync(context, 200, w =>
            {
                w.WriteNumber("index", result.Index);
                w.WriteStartArray("results");
                for (var i = 0; i < result.OpResults.Count; i++)
                {
                    var op = result.OpResults[i];
                    w.WriteStartObject();
                    w.WriteString("op", OpName(ops[i]));
                    w.WriteString("path", op.Path);
                    if (ops[i] is CreateOp or SetDataOp)
                        ApiJson.WriteStat(w, "stat", op.Stat);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }).ConfigureAwait(false);
            return;
        }

        var failed = result.FailedOp;
        var code = failed >= 0 && failed < result.OpResults.Count ? result.OpResults[failed].Error : result.Error;
        var path = failed >= 0 && failed < ops.Count ? ops[failed].Path : null;
        await ApiJson.ErrorAsync(context, ApiErrors.StatusOf(code), code.ToString(), $"op {failed}: {QuotaMessage(context, code) ?? ApiErrors.MessageOf(code, path)}", w =>
        {
            w.WriteNumber("failedOp", failed);
            w.WriteStartArray("results");
            foreach (var op in result.OpResults)
            {
                w.WriteStartObject();
                w.WriteString("error", op.Error == ErrorCode.Ok ? "Ok" : op.Error.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static string OpName(TxnOp op) => op switch
    {
        CheckVersionOp => "check",
        CreateOp => "create",
        SetDataOp => "set",
        _ => "delete",
    };

    private async Task<IReadOnlyList<TxnOp>> ParseTxnAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("the body is not valid JSON: " + e.Message);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("ops", out var opsElement)
                || opsElement.ValueKind != JsonValueKind.Array)
                throw ApiException.BadRequest("the body must be { \"ops\": [ ... ] }");
            var count = opsElement.GetArrayLength();
            if (count > limits.MaxTxnOps)
            {
                throw new ApiException(StatusCodes.Status413PayloadTooLarge, ApiErrors.TooManyOps,
                    $"a transaction may have at most {limits.MaxTxnOps} ops (--max-txn-ops); this one has {count}");
            }
            var ops = new List<TxnOp>(count);
            var i = 0;
            foreach (var element in opsElement.EnumerateArray())
            {
                ops.Add(ParseOp(element, i++));
            }
            if (ops.Count == 0)
                throw ApiException.BadRequest("a transaction needs at least one op");
            return ops;
        }
    }

    private static TxnOp ParseOp(JsonElement op, int i)
    {
        if (op.ValueKind != JsonValueKind.Object)
            throw ApiException.BadRequest($"op {i} is not an object");
        var path = String(op, "path", i) ?? throw ApiException.BadRequest($"op {i} has no path");
        if (!NodePath.IsValid(path))
            throw new ApiException(400, ApiErrors.InvalidPath, $"op {i}: '{path}' is not a valid node path");
        GuardCa(path, subtree: String(op, "op", i) == "delete");
        var version = Long(op, "version", i) ?? -1;
        return String(op, "op", i) switch
        {
            "check" => new CheckVersionOp(path, version),
            "create" => new CreateOp(path, Data(op, i), ModeOf(String(op, "mode", i)), Long(op, "session", i) ?? 0, Bool(op, "parents", i)),
            "set" => new SetDataOp(path, Data(op, i), version),
            "delete" => new DeleteOp(path, version, Bool(op, "recursive", i)),
            var other => throw ApiException.BadRequest($"op {i}: unknown op '{other}' (check, create, set, delete)"),
        };
    }

    private static string? String(JsonElement op, string name, int i) =>
        !op.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? TextOf(value, name, i)
        : throw ApiException.BadRequest($"op {i}: {name} must be a string");

    // The JSON reader checks UTF-8 only when a string is decoded: invalid bytes (or an escaped
    // lone surrogate) in a string are the client's fault, not the node's.
    private static string TextOf(JsonElement value, string name, int i)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            var code = name == "path" ? ApiErrors.InvalidPath : ApiErrors.BadRequest;
            throw new ApiException(StatusCodes.Status400BadRequest, code, $"op {i}: {name} is not valid UTF-8 text (invalid bytes or a lone surrogate escape)");
        }
    }

    private static long? Long(JsonElement op, string name, int i) =>
        !op.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n
        : throw ApiException.BadRequest($"op {i}: {name} must be an integer");

    private static bool Bool(JsonElement op, string name, int i) =>
        op.TryGetProperty(name, out var value) && value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw ApiException.BadRequest($"op {i}: {name} must be true or false"),
        };

    private static byte[] Data(JsonElement op, int i)
    {
        if (!op.TryGetProperty("data", out var value) || value.ValueKind == JsonValueKind.Null)
            return [];
        if (value.ValueKind != JsonValueKind.String || !value.TryGetBytesFromBase64(out var bytes))
            throw ApiException.BadRequest($"op {i}: data must be a base64 string");
        return bytes.Length > Core.Tree.NodeLimits.MaxDataBytes
            ? throw new ApiException(413, ApiErrors.DataTooLarge, $"op {i}: node data is over 1 MiB")
            : bytes;
    }
}
