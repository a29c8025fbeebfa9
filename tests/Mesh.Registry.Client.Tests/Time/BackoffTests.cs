using Mesh.Common.Time;

namespace Mesh.Registry.Client.Tests.Time;

public sealed class BackoffTests
{
    [Theory]
    [InlineData(1, 0.0, 100)]
    [InlineData(2, 0.0, 200)]
    [InlineData(3, 0.0, 400)]
    [InlineData(4, 0.0, 500)] // capped
    [InlineData(40, 0.0, 500)]
    [InlineData(1, 0.5, 90)] // shortened by up to a fifth: half of that here
    [InlineData(4, 0.5, 450)]
    public void DelayAfter_DoublesUpToTheMax_ShortenedByTheJitter(int failures, double random, double milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds),
            new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), Jitter: 0.2).DelayAfter(failures, random));

    [Fact]
    public void Constant_IsTheSameAfterEveryFailure()
    {
        var backoff = Backoff.Constant(TimeSpan.FromSeconds(1), jitter: 0);

        Assert.Equal(TimeSpan.FromSeconds(1), backoff.DelayAfter(1, 0.7));
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.DelayAfter(9, 0.7));
    }
}
