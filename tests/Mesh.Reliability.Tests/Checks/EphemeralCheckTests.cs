namespace Mesh.Reliability.Tests.Checks;

public sealed class EphemeralCheckTests
{
    [Fact]
    public void EphemeralSeenBeforeItsSessionEnded_Passes() =>
        Assert.Empty(EphemeralCheck.Check(
            [new SessionEnd(7, Index: 100, KnownAt: 5_000)],
            [new EphemeralSighting("/svc/a", Owner: 7, ReadIndex: 99, InvokedAt: 4_000)]));

    [Fact]
    public void EphemeralReadAtOrAfterTheEndingIndex_IsReported() =>
        Assert.Contains("index 100", Assert.Single(EphemeralCheck.Check(
            [new SessionEnd(7, Index: 100, KnownAt: null)],
            [new EphemeralSighting("/svc/a", Owner: 7, ReadIndex: 100, InvokedAt: null)])).Message, StringComparison.Ordinal);

    [Fact]
    public void EphemeralSeenAfterAClientLearntOfTheExpiry_IsReported() =>
        Assert.Single(EphemeralCheck.Check(
            [new SessionEnd(7, Index: null, KnownAt: 5_000)],
            [new EphemeralSighting("/svc/a", Owner: 7, ReadIndex: null, InvokedAt: 5_001)]));

    [Fact]
    public void ReadInvokedBeforeTheExpiryWasKnown_MayStillSeeIt() =>
        // the read was concurrent with the expiry: either answer is fine
        Assert.Empty(EphemeralCheck.Check(
            [new SessionEnd(7, Index: null, KnownAt: 5_000)],
            [new EphemeralSighting("/svc/a", Owner: 7, ReadIndex: null, InvokedAt: 4_999)]));

    [Fact]
    public void EphemeralsOfLiveSessions_AreNotJudged() =>
        Assert.Empty(EphemeralCheck.Check(
            [new SessionEnd(7, Index: 100, KnownAt: 5_000)],
            [new EphemeralSighting("/svc/b", Owner: 8, ReadIndex: 500, InvokedAt: 9_000)]));
}
