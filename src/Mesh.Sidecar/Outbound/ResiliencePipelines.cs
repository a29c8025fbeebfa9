// Builds a route's Polly pipeline: its retries. Polly only times them (backoff with jitter
// between attempts): an attempt reports AttemptResult.Retry only when the route's RetryPolicy and
// the budget allowed it, and the retry strategy obeys. The route's overall timeout is not a Polly
// strategy: it is the pipeline's cancellation token, from the route's RouteDeadline.
using Mesh.Sidecar.Configuration;
using Polly;
using Polly.Retry;

namespace Mesh.Sidecar.Outbound;

internal enum AttemptResult
{
    Done,
    Retry,
}

internal static class ResiliencePipelines
{
    /// <summary>The shortest route timeout (Polly's own lower bound when it was a Polly strategy).</summary>
    public static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(10);

    // Native AOT: Polly validates the retry options with data annotations, which may call
    // Enum.GetValues(Type) on DelayBackoffType. The native mesh-sidecar builds retry pipelines at
    // start-up (the bench's smoke run and its tests start one with a retry route), so a gap
    // would show there, not in production.
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Checked in the native build: retry pipelines build and run.")]
    public static ResiliencePipeline<AttemptResult> Create(RetryConfig retries, TimeProvider timeProvider)
    {
        var builder = new ResiliencePipelineBuilder<AttemptResult> { TimeProvider = timeProvider };
        if (retries.Attempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<AttemptResult>
            {
                ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Result == AttemptResult.Retry),
                MaxRetryAttempts = retries.Attempts - 1,
                Delay = retries.BaseDelay,
                MaxDelay = TimeSpan.FromSeconds(1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }
        return builder.Build();
    }

    /// <summary>The route's timeout as a shared deadline (bounded below like the Polly strategy it replaced).</summary>
    public static RouteDeadline Deadline(TimeSpan timeout, TimeProvider timeProvider) =>
        new(timeout < MinTimeout ? MinTimeout : timeout, timeProvider);
}
