using System.Net;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Limits;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Registry.Tests.Api.Access;

/// <summary>The table of failed authentications alone, on a scripted clock.</summary>
public sealed class AuthFailureLimiterTests
{
    private static readonly IPAddress Guesser = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress Neighbour = IPAddress.Parse("192.0.2.2");

    private static (AuthFailureLimiter Limiter, FakeTimeProvider Time) Start(int perAddress = 3, int perNode = 1_000, int addresses = 1_000)
    {
        var time = new FakeTimeProvider();
        var limits = new RegistryLimits { AuthFailuresPerAddress = perAddress, AuthFailuresPerNode = perNode, AuthFailureAddresses = addresses, AuthFailureWindow = TimeSpan.FromSeconds(60) };
        return (new AuthFailureLimiter(limits, time), time);
    }

    [Fact]
    public void Check_AfterAnAddressFailsItsAllowance_RefusesItUntilItsWindowEnds()
    {
        var (limiter, time) = Start();
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(limiter.Check(Guesser));
            limiter.Failed(Guesser);
        }
        time.Advance(TimeSpan.FromSeconds(20));

        var refused = limiter.Check(Guesser);

        Assert.NotNull(refused);
        Assert.Equal(40, refused.RetryAfterSeconds);
        Assert.Contains("192.0.2.1 failed to authenticate 3 times in 60 s", refused.Reason, StringComparison.Ordinal);
        Assert.Null(limiter.Check(Neighbour));
        time.Advance(TimeSpan.FromSeconds(40));
        Assert.Null(limiter.Check(Guesser));
    }

    [Fact]
    public void Check_OnceTheNodeSawItsCeiling_AnAddressThatFailedOnceIsRefusedAndACleanOneIsNot()
    {
        var (limiter, _) = Start(perAddress: 10, perNode: 5);
        for (var i = 0; i < 5; i++)
            limiter.Failed(IPAddress.Parse($"198.51.100.{i}"));

        Assert.NotNull(limiter.Check(IPAddress.Parse("198.51.100.0")));
        Assert.Null(limiter.Check(Neighbour));
    }

    [Fact]
    public void Failed_FromManyMoreAddressesThanTheCap_KeepsTheTableWithinIt()
    {
        var (limiter, time) = Start(addresses: 100);
        for (var i = 0; i < 100_000; i++)
        {
            limiter.Failed(new IPAddress(BitConverter.GetBytes(i)));
            if (i % 1_000 == 0)
                time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(100, limiter.Tracked);
        time.Advance(TimeSpan.FromMinutes(2));
        limiter.Failed(Guesser);
        Assert.Equal(1, limiter.Tracked);
    }

    [Fact]
    public void Failed_AnAddressWhoseWindowEnded_StartsAFreshCount()
    {
        var (limiter, time) = Start(perAddress: 2);
        limiter.Failed(Guesser);
        limiter.Failed(Guesser);
        time.Advance(TimeSpan.FromSeconds(60));

        limiter.Failed(Guesser);

        Assert.Null(limiter.Check(Guesser));
        Assert.Equal(1, limiter.Tracked);
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa::1", "2001:db8:1:2::")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("::1", "::1")]
    public void KeyOf_OneHost_IsOneKey(string address, string key) =>
        Assert.Equal(IPAddress.Parse(key), AuthFailureLimiter.KeyOf(IPAddress.Parse(address)));
}
