using Mesh.Sidecar.Outbound;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Sidecar.Tests.Outbound;

/// <summary>The route timeout as a token shared per slice of time, on a scripted clock.</summary>
public sealed class RouteDeadlineTests
{
    [Fact]
    public void Token_RequestsInOneSlice_ShareOneToken()
    {
        var time = new FakeTimeProvider();
        var deadline = new RouteDeadline(TimeSpan.FromSeconds(1), time);

        var first = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(9));
        var second = deadline.Token;

        Assert.Equal(first, second);
    }

    [Fact]
    public void Token_RequestAfterTheSlice_GetsANewToken()
    {
        var time = new FakeTimeProvider();
        var deadline = new RouteDeadline(TimeSpan.FromSeconds(1), time);

        var first = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(10));
        var second = deadline.Token;

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Token_ClockReachesTimeoutFromSliceStart_IsCancelled()
    {
        var time = new FakeTimeProvider();
        var deadline = new RouteDeadline(TimeSpan.FromSeconds(1), time);
        var token = deadline.Token;

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(token.IsCancellationRequested);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.True(token.IsCancellationRequested);
    }

    [Fact]
    public void Token_RequestLateInSlice_NeverOutlivesItsTimeout()
    {
        var time = new FakeTimeProvider();
        var deadline = new RouteDeadline(TimeSpan.FromSeconds(1), time);
        _ = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(5));

        var late = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(995));

        Assert.True(late.IsCancellationRequested);
    }

    [Fact]
    public void Token_ShortTimeout_SliceIsAHundredthOfIt()
    {
        var time = new FakeTimeProvider();
        var deadline = new RouteDeadline(TimeSpan.FromMilliseconds(100), time);

        var first = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(1));
        var second = deadline.Token;

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Token_LongTimeout_SliceIsStillAHundredthOfIt()
    {
        // 30 s: slices of 300 ms, so a busy route holds about a hundred live timers, not 3,000.
        var time = new FakeTimeProvider();
        var deadline = new RouteDeadline(TimeSpan.FromSeconds(30), time);

        var first = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(299));
        var sameSlice = deadline.Token;
        time.Advance(TimeSpan.FromMilliseconds(1));
        var nextSlice = deadline.Token;

        Assert.Equal(first, sameSlice);
        Assert.NotEqual(first, nextSlice);
    }

    [Fact]
    public void New_TimeoutLongerThanATimerCanWait_IsRefusedAtOnce()
    {
        var time = new FakeTimeProvider();

        Assert.Throws<ArgumentOutOfRangeException>(() => new RouteDeadline(TimeSpan.FromDays(50), time));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RouteDeadline(TimeSpan.Zero, time));
    }

    [Fact]
    public void Token_LongestTimeout_IsNotCancelledEarly()
    {
        var time = new FakeTimeProvider();
        var deadline = new RouteDeadline(RouteDeadline.MaxTimeout, time);

        var token = deadline.Token;
        time.Advance(TimeSpan.FromDays(49));

        Assert.False(token.IsCancellationRequested);
    }
}
