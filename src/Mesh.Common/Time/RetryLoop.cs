namespace Mesh.Common.Time;

/// <summary>
/// The one watch-and-retry loop: run something (a watch, a call), and when it fails with an error
/// worth retrying, report it, wait a <see cref="Backoff"/> on the <see cref="TimeProvider"/>
/// and run it again. The backoff starts over once the work reports progress (a watch delivered an
/// update), so a long-lived watch that breaks now and then waits the short delay each time.
/// Stopping is the caller's token: a cancelled loop ends quietly, never with an exception.
/// </summary>
public sealed class RetryLoop(Backoff backoff, TimeProvider? time = null, Random? random = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Random _random = random ?? Random.Shared;

    public Backoff Backoff { get; } = backoff;

    /// <summary>
    /// Runs <paramref name="attempt"/> until it returns or <paramref name="cancellationToken"/> is
    /// cancelled. <paramref name="attempt"/> gets a callback to call on progress (it resets the
    /// backoff). A failure that <paramref name="retryable"/> (default: any) accepts is passed to
    /// <paramref name="failed"/> with the delay before the next attempt; any other is thrown.
    /// </summary>
    public async Task RunAsync(
        Func<Action, CancellationToken, Task> attempt, Action<Exception, TimeSpan>? failed,
        CancellationToken cancellationToken, Func<Exception, bool>? retryable = null)
    {
        var failures = 0;
        void Progress() => failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await attempt(Progress, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (retryable?.Invoke(e) ?? true)
            {
                var delay = NextDelay(++failures);
                failed?.Invoke(e, delay);
                if (!await DelayAsync(delay, cancellationToken).ConfigureAwait(false))
                    return;
            }
        }
    }

    /// <summary>
    /// Follows a watch: <paramref name="apply"/> for every item, the watch restarted after a failure
    /// (the backoff starts over with every item). Ends when the watch ends or on cancellation.
    /// </summary>
    public Task WatchAsync<T>(
        Func<CancellationToken, IAsyncEnumerable<T>> watch, Action<T> apply, Action<Exception, TimeSpan>? failed,
        CancellationToken cancellationToken, Func<Exception, bool>? retryable = null) =>
        RunAsync(async (progress, token) =>
        {
            await foreach (var item in watch(token).ConfigureAwait(false))
            {
                apply(item);
                progress();
            }
        }, failed, cancellationToken, retryable);

    /// <summary>
    /// Calls <paramref name="call"/> until it succeeds. A failure <paramref name="retryable"/> accepts
    /// is reported and retried after the backoff; any other is thrown, and so is cancellation.
    /// </summary>
    public async Task<T> RetryAsync<T>(
        Func<CancellationToken, Task<T>> call, Func<Exception, bool> retryable, Action<Exception, TimeSpan>? failed,
        CancellationToken cancellationToken)
    {
        for (var failures = 1; ; failures++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await call(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && retryable(e))
            {
                var delay = NextDelay(failures);
                failed?.Invoke(e, delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Waits the backoff after <paramref name="failures"/> failures in a row, for loops that cannot
    /// hand their body over (an iterator that yields). False when cancelled meanwhile.
    /// </summary>
    public Task<bool> DelayAfterAsync(int failures, CancellationToken cancellationToken) =>
        DelayAsync(NextDelay(failures), cancellationToken);

    /// <summary>The backoff after <paramref name="failures"/> failures in a row, with this loop's jitter.</summary>
    public TimeSpan NextDelay(int failures)
    {
        double random;
        lock (_random)
            random = _random.NextDouble();
        return Backoff.DelayAfter(failures, random);
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
