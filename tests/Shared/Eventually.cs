using System.Diagnostics;
using Xunit;

namespace Mesh.Testing;

/// <summary>
/// The one polling helper for what real processes and sockets make true a little later: ask until
/// the answer is yes, fail the test with a message (and the last error seen) when time is up. The
/// deadline only bounds the wait; nothing is asserted about how long it took.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Waits until <paramref name="condition"/> is true; an exception it throws counts as "not yet".</summary>
    public static Task TrueAsync(Func<bool> condition, string because, TimeSpan? timeout = null) =>
        TrueAsync(() => Task.FromResult(condition()), because, timeout);

    /// <summary>Waits until <paramref name="condition"/> is true; an exception it throws counts as "not yet".</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null) =>
        await ValueAsync(async () => await condition() ? true : (bool?)null, because, timeout);

    /// <summary>
    /// The first value <paramref name="attempt"/> returns that is not null; an exception it throws
    /// counts as "not yet" and is named in the failure if it is the last thing seen.
    /// </summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> attempt, string because, TimeSpan? timeout = null)
        where T : struct
    {
        var (value, _) = await PollAsync(async () => await attempt() is { } v ? (v, true) : (default, false), because, timeout);
        return value;
    }

    /// <summary>As <see cref="ValueAsync{T}(Func{Task{T?}}, string, TimeSpan?)"/>, for reference types.</summary>
    public static async Task<T> ObjectAsync<T>(Func<Task<T?>> attempt, string because, TimeSpan? timeout = null)
        where T : class
    {
        var (value, _) = await PollAsync(async () => await attempt() is { } v ? (v, true) : (null!, false), because, timeout);
        return value;
    }

    private static async Task<(T Value, bool Done)> PollAsync<T>(Func<Task<(T Value, bool Done)>> attempt, string because, TimeSpan? timeout)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                var result = await attempt();
                if (result.Done)
                    return result;
                last = null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                last = e;
            }

            if (clock.Elapsed >= limit)
            {
                Assert.Fail($"{because} (waited {limit.TotalSeconds:0.#} s{(last is null ? "" : $"; last error: {last.GetType().Name}: {last.Message}")})");
            }

            await Task.Delay(Interval);
        }
    }
}
