namespace Mesh.Sidecar.Tests.TestSupport;

internal static class ChiSquare
{
    /// <summary>Critical values at p = 0.001 for 1..3 degrees of freedom.</summary>
    public static double Critical(int degreesOfFreedom) => degreesOfFreedom switch
    {
        1 => 10.828,
        2 => 13.816,
        3 => 16.266,
        _ => throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom)),
    };

    public static double Statistic(IReadOnlyList<long> observed, IReadOnlyList<double> expectedShares)
    {
        var total = observed.Sum();
        var shareTotal = expectedShares.Sum();
        double statistic = 0;
        for (var i = 0; i < observed.Count; i++)
        {
            var expected = total * expectedShares[i] / shareTotal;
            statistic += (observed[i] - expected) * (observed[i] - expected) / expected;
        }
        return statistic;
    }
}
