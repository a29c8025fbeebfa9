using Mesh.Registry.Core.Results;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

/// <summary>Error codes of the client API (docs/registry-api.md) and their HTTP statuses.</summary>
internal static class ApiErrors
{
    public const string BadRequest = "BadRequest";
    public const string NotFound = "NotFound";
    public const string Forbidden = "Forbidden";
    public const string Unauthenticated = "Unauthenticated";
    public const string MethodNotAllowed = "MethodNotAllowed";
    public const string IndexCompacted = "IndexCompacted";
    public const string Unavailable = "Unavailable";
    public const string Timeout = "Timeout";

    /// <summary>A write was proposed (or forwarded) and no result came back: it may or may not be applied (504).</summary>
    public const string OutcomeUnknown = "OutcomeUnknown";
    public const string DataTooLarge = "DataTooLarge";
    public const string InvalidPath = "InvalidPath";
    public const string Internal = "Internal";
    public const string BodyTooLarge = "BodyTooLarge";
    public const string TooManyOps = "TooManyOps";
    public const string TooManyRequests = "TooManyRequests";
    public const string Conflict = "Conflict";
    public const string TooManyWatches = "TooManyWatches";

    public static int StatusOf(ErrorCode code) => code switch
    {
        ErrorCode.NoNode => StatusCodes.Status404NotFound,
        ErrorCode.NodeExists => StatusCodes.Status409Conflict,
        ErrorCode.BadVersion => StatusCodes.Status409Conflict,
        ErrorCode.NotEmpty => StatusCodes.Status409Conflict,
        ErrorCode.NoChildrenForEphemerals => StatusCodes.Status400BadRequest,
        ErrorCode.SessionExpired => StatusCodes.Status404NotFound,
        ErrorCode.InvalidPath or ErrorCode.BadArguments => StatusCodes.Status400BadRequest,
        ErrorCode.DataTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCode.StaleRequest => StatusCodes.Status409Conflict,
        ErrorCode.NodeQuotaExceeded or ErrorCode.ByteQuotaExceeded or ErrorCode.SessionQuotaExceeded => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static string MessageOf(ErrorCode code, string? path) => code switch
    {
        ErrorCode.NoNode => $"node {path} (or its parent) does not exist",
        ErrorCode.NodeExists => $"node {path} already exists",
        ErrorCode.BadVersion => $"node {path} does not have the expected version",
        ErrorCode.NotEmpty => $"node {path} has children; delete with recursive=true",
        ErrorCode.NoChildrenForEphemerals => $"cannot create a child under ephemeral node {path}",
        ErrorCode.SessionExpired => "the session does not exist (expired, closed or never opened)",
        ErrorCode.InvalidPath => $"'{path}' is not a valid node path",
        ErrorCode.DataTooLarge => "node data is over 1 MiB",
        ErrorCode.StaleRequest => "Mesh-Request-Seq is lower than one already applied for this client",
        ErrorCode.RolledBack => "rolled back",
        ErrorCode.BadArguments => $"the TTL of {path} does not fit its create mode (1 ms to 2^40-1 ms, and only for TTL modes)",
        _ => code.ToString(),
    };
}

/// <summary>An error answer decided while parsing a request.</summary>
internal sealed class ApiException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public static ApiException BadRequest(string message) => new(StatusCodes.Status400BadRequest, ApiErrors.BadRequest, message);
}
