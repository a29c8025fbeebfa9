using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Outbound;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Sidecar.Tests.Outbound;

public sealed class RetryBudgetTests
{
    private readonly FakeTimeProvider _time = new();

    private static int Withdraw(RetryBudget budget, int tries)
    {
        var granted = 0;
        for (var i = 0; i < tries; i++)
        {
            if (budget.TryWithdraw())
                granted++;
        }
        return granted;
    }

    [Fact]
    public void TryWithdraw_NoRequests_AllowsTheFloorPerSecondOfTheWindow()
    {
        var budget = new RetryBudget(new RetryBudgetConfig { Ratio = 0.2, MinRetriesPerSecond = 3, Window = TimeSpan.FromSeconds(10) }, _time);

        Assert.Equal(30, Withdraw(budget, 100));
    }

    [Fact]
    public void TryWithdraw_ManyRequests_AllowsTheRatioOfThemOnTopOfTheFloor()
    {
        var budget = new RetryBudget(new RetryBudgetConfig { Ratio = 0.2, MinRetriesPerSecond = 0, Window = TimeSpan.FromSeconds(10) }, _time);
        for (var i = 0; i < 500; i++)
            budget.RecordRequest();

        Assert.Equal(100, Withdraw(budget, 1000));
    }

    [Fact]
    public void TryWithdraw_SpentBudget_RefillsAsTheWindowSlidesOn()
    {
        var budget = new RetryBudget(new RetryBudgetConfig { Ratio = 0.5, MinRetriesPerSecond = 0, Window = TimeSpan.FromSeconds(5) }, _time);
        for (var i = 0; i < 10; i++)
            budget.RecordRequest();
        Assert.Equal(5, Withdraw(budget, 10));

        // Still inside the window: the retries taken still count.
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(budget.TryWithdraw());

        // The second with those requests and retries has left the window: nothing to take a share of.
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(budget.TryWithdraw());
        for (var i = 0; i < 4; i++)
            budget.RecordRequest();
        Assert.Equal(2, Withdraw(budget, 10));
    }

    [Fact]
    public void TryWithdraw_FloorSpentThisSecond_ReturnsWhenTheSecondLeavesTheWindow()
    {
        var budget = new RetryBudget(new RetryBudgetConfig { Ratio = 0, MinRetriesPerSecond = 2, Window = TimeSpan.FromSeconds(2) }, _time);
        Assert.Equal(4, Withdraw(budget, 10));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, Withdraw(budget, 10));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(4, Withdraw(budget, 10));
    }
}
