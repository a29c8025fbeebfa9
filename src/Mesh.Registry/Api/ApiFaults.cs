using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Api;

/// <summary>
/// An exception no handler expected: a fault of this node, not of the client. It is logged once,
/// with its stack, and answered with the contract's one JSON error (or, when the answer had
/// already begun, the connection is cut). Client faults never get here: they are 4xx answers and
/// are not logged.
/// </summary>
internal static partial class ApiFaults
{
    public static Task AnswerAsync(HttpContext context, ILogger logger, Exception exception)
    {
        Unexpected(logger, context.Request.Method, context.Request.Path.Value ?? "/", exception);
        if (context.Response.HasStarted)
        {
            context.Abort();
            return Task.CompletedTask;
        }
        context.Response.Clear();
        return ApiJson.ErrorAsync(context, StatusCodes.Status500InternalServerError, ApiErrors.Internal,
            "the registry failed to handle this request; the error is in its log");
    }

    [LoggerMessage(1, LogLevel.Error, "Unexpected failure handling {Method} {Path}")]
    private static partial void Unexpected(ILogger logger, string method, string path, Exception exception);
}
