using Mesh.Registry.Api.Limits;
using Mesh.Registry.Consensus;
using Mesh.Registry.Contracts;
using Mesh.Registry.Watches;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Api;

/// <summary>
/// The one place where an exception becomes the contract's <c>{ error, message }</c> answer:
/// the API's own refusals (<see cref="ApiException"/>), a body Kestrel refused to read, a watch
/// index older than the history, no leader or quorum (503, nothing applied), a write whose
/// outcome is unknown (504) and a read barrier that timed out (504). Anything else is a fault of
/// this node (<see cref="ApiFaults"/>: logged once, 500). A client that went away gets nothing.
/// </summary>
internal sealed class ApiErrorMapping(ILogger logger)
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        Task request;
        try
        {
            request = next(context);
        }
        catch (Exception e)
        {
            request = Task.FromException(e);
        }
        // A request answered without waiting costs no state machine here.
        return request.IsCompletedSuccessfully ? Task.CompletedTask : MapAsync(context, request);
    }

    private async Task MapAsync(HttpContext context, Task request)
    {
        try
        {
            await request.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e)
        {
            if (context.Response.HasStarted || AnswerOf(context, e) is not { } answer)
                await ApiFaults.AnswerAsync(context, logger, e).ConfigureAwait(false);
            else
                await answer.ConfigureAwait(false);
        }
    }

    /// <summary>The answer for an exception the contract names, or null for a fault of the node.</summary>
    private static Task? AnswerOf(HttpContext context, Exception exception) => exception switch
    {
        ApiException e => ApiJson.ErrorAsync(context, e.Status, e.Code, e.Message),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } when BodyLimitFilter.LimitOf(context) is { } limit =>
            BodyLimitFilter.RefuseAsync(context, limit, declared: null),
        BadHttpRequestException e => ApiJson.ErrorAsync(context, e.StatusCode, ApiErrors.BadRequest, e.Message),
        IndexCompactedException e => ApiJson.ErrorAsync(context, StatusCodes.Status410Gone,
            new ErrorResponse(ApiErrors.IndexCompacted, e.Message, OldestIndex: e.Oldest)),
        NotLeaderException or QuorumUnavailableException => ApiJson.ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, ApiErrors.Unavailable, exception.Message),
        OutcomeUnknownException => ApiJson.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, ApiErrors.OutcomeUnknown, exception.Message),
        TimeoutException => ApiJson.ErrorAsync(context, StatusCodes.Status504GatewayTimeout, ApiErrors.Timeout, exception.Message),
        _ => null,
    };
}
