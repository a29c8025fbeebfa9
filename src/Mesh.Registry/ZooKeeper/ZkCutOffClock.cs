namespace Mesh.Registry.ZooKeeper;

/// <summary>
/// Whether a node counts as cut off from its quorum, for read-only mode: it has been without a
/// leader for at least <c>after</c>, looked at on each <see cref="Look"/>. An ordinary election is
/// shorter, so clients are not turned read-only and back for a moment.
/// </summary>
internal sealed class ZkCutOffClock(TimeProvider time, TimeSpan after)
{
    private long _leaderlessSince;

    public bool CutOff { get; private set; }

    /// <summary>Looks at the node once; returns what changed: cut off now, serving again, or nothing.</summary>
    public ZkCutOffChange Look(bool serving)
    {
        if (serving)
        {
            _leaderlessSince = 0;
            if (!CutOff)
                return ZkCutOffChange.None;
            CutOff = false;
            return ZkCutOffChange.ServingAgain;
        }
        var now = time.GetTimestamp();
        if (_leaderlessSince == 0)
            _leaderlessSince = now;
        if (CutOff || time.GetElapsedTime(_leaderlessSince, now) < after)
            return ZkCutOffChange.None;
        CutOff = true;
        return ZkCutOffChange.CutOff;
    }
}

internal enum ZkCutOffChange
{
    None,
    CutOff,
    ServingAgain,
}
