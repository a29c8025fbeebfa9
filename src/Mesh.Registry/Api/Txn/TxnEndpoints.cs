using System.Text.Json;
using Mesh.Registry.Api.Ca;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.Api.Writes;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.Registry.Api.Txn;

/// <summary><c>POST /v1/txn</c>: several checks and writes applied atomically, or none of them; the body is read op by op into the contract's records.</summary>
internal sealed class TxnEndpoints(ApiWriter writes, RegistryLimits limits)
{
    public void Map(IEndpointRouteBuilder api, LeaderFilter leader)
    {
        var txn = api.MapGroup("/v1/txn");
        txn.MapPost("", TxnAsync).AddEndpointFilter(leader);
        txn.MapOthers("", context => ApiRoutes.MethodNotAllowed(context, "POST"));
    }


    private async Task TxnAsync(HttpContext context)
    {
        var (clientId, seq) = ApiRequest.IdempotencyOf(context);
        var ops = await ParseTxnAsync(context).ConfigureAwait(false);
        writes.AuthorizeWrites(context, ops);
        var result = await writes.WriteOwnedAsync(context, new Transaction(writes.Header(context, clientId, seq), ops)).ConfigureAwait(false);
        if (result.FailedOp < 0 && result.IsOk)
        {
            var applied = new TxnOpResult[result.OpResults.Count];
            for (var i = 0; i < applied.Length; i++)
            {
                var op = result.OpResults[i];
                applied[i] = new TxnOpResult(OpName(ops[i]), op.Path, ops[i] is CreateOp or SetDataOp ? ApiJson.Stat(op.Stat) : null, null);
            }
            await ApiJson.WriteAsync(context, 200, new TxnResponse(result.Index, applied), RegistryJson.Default.TxnResponse).ConfigureAwait(false);
            return;
        }

        var failed = result.FailedOp;
        var code = failed >= 0 && failed < result.OpResults.Count ? result.OpResults[failed].Error : result.Error;
        var path = failed >= 0 && failed < ops.Count ? ops[failed].Path : null;
        var message = $"op {failed}: {writes.QuotaMessage(context, code) ?? ApiErrors.MessageOf(code, path)}";
        var results = result.OpResults.Select(op => new TxnOpResult(null, null, null, op.Error == ErrorCode.Ok ? "Ok" : op.Error.ToString())).ToArray();
        await ApiJson.ErrorAsync(context, ApiErrors.StatusOf(code), new ErrorResponse(code.ToString(), message, FailedOp: failed, Results: results)).ConfigureAwait(false);
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

    private static TxnOp ParseOp(JsonElement element, int i)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw ApiException.BadRequest($"op {i} is not an object");
        var op = ReadOp(element, i);
        var path = op.Path ?? throw ApiException.BadRequest($"op {i} has no path");
        if (!NodePath.IsValid(path))
            throw new ApiException(400, ApiErrors.InvalidPath, $"op {i}: '{path}' is not a valid node path");
        CaGuard.Check(path, subtree: op.Op == "delete");
        var version = op.Version ?? -1;
        return op.Op switch
        {
            "check" => new CheckVersionOp(path, version),
            "create" => new CreateOp(path, Data(op, i), ApiRequest.ModeOf(op.Mode), op.Session ?? 0, op.Parents ?? false),
            "set" => new SetDataOp(path, Data(op, i), version),
            "delete" => new DeleteOp(path, version, op.Recursive ?? false),
            var other => throw ApiException.BadRequest($"op {i}: unknown op '{other}' (check, create, set, delete)"),
        };
    }

    private static TxnOpRequest ReadOp(JsonElement element, int i)
    {
        try
        {
            return element.Deserialize(RegistryJson.Default.TxnOpRequest)!;
        }
        catch (JsonException e)
        {
            throw FieldError(element, e, i);
        }
    }

    /// <summary>The error for the op field the serializer could not read, named from the exception's JSON path ("$.version").</summary>
    private static ApiException FieldError(JsonElement op, JsonException e, int i)
    {
        var name = e.Path is { Length: > 2 } jsonPath && jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : "";
        // The JSON reader checks UTF-8 only when a string is decoded: a string field that could not
        // be read holds invalid bytes (or an escaped lone surrogate), the client's fault, not the node's.
        if (name is "op" or "path" or "mode" && op.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
        {
            var code = name == "path" ? ApiErrors.InvalidPath : ApiErrors.BadRequest;
            return new ApiException(StatusCodes.Status400BadRequest, code, $"op {i}: {name} is not valid UTF-8 text (invalid bytes or a lone surrogate escape)");
        }
        return ApiException.BadRequest(name switch
        {
            "op" or "path" or "mode" => $"op {i}: {name} must be a string",
            "version" or "session" => $"op {i}: {name} must be an integer",
            "parents" or "recursive" => $"op {i}: {name} must be true or false",
            "data" => $"op {i}: data must be a base64 string",
            _ => $"op {i}: {e.Message}",
        });
    }

    private static byte[] Data(TxnOpRequest op, int i)
    {
        var bytes = op.Data ?? [];
        return bytes.Length > Core.Tree.NodeLimits.MaxDataBytes
            ? throw new ApiException(413, ApiErrors.DataTooLarge, $"op {i}: node data is over 1 MiB")
            : bytes;
    }
}
