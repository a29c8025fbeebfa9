namespace Mesh.Reliability.Tests.Checks;

/// <summary>
/// A session's end: the registry index of the command that expired or closed it (when known)
/// and the monotonic time by which a client had learnt of it (e.g. a keep-alive answered
/// <c>SessionExpired</c>, or the close was acknowledged).
/// </summary>
internal sealed record SessionEnd(long SessionId, long? Index, long? KnownAt);

/// <summary>A read that saw ephemeral node <see cref="Path"/> owned by <see cref="Owner"/>.</summary>
/// <param name="ReadIndex">The registry index the read saw (<c>X-Mesh-Index</c>), when known.</param>
/// <param name="InvokedAt">When the read was invoked (same clock as <see cref="SessionEnd.KnownAt"/>).</param>
internal sealed record EphemeralSighting(string Path, long Owner, long? ReadIndex, long? InvokedAt);

/// <summary>
/// An ephemeral node never outlives its session: no read at or after the index that ended the
/// session, and no read invoked after a client learnt of the end, may still see the node. (The
/// registry deletes a session's ephemerals in the same command that ends it.)
/// </summary>
internal static class EphemeralCheck
{
    public const string Name = "ephemerals die with their session";

    public static IReadOnlyList<Violation> Check(IEnumerable<SessionEnd> ends, IEnumerable<EphemeralSighting> sightings)
    {
        var endOf = ends.GroupBy(e => e.SessionId).ToDictionary(
            g => g.Key,
            g => new SessionEnd(g.Key, g.Min(e => e.Index), g.Min(e => e.KnownAt)));
        var violations = new List<Violation>();
        foreach (var seen in sightings)
        {
            if (!endOf.TryGetValue(seen.Owner, out var end))
                continue;
            if (seen.ReadIndex is { } read && end.Index is { } ended && read >= ended)
                violations.Add(new Violation(Name, $"{seen.Path} of session {seen.Owner} was read at index {read}, but the session ended at index {ended}"));
            else if (seen.InvokedAt is { } invoked && end.KnownAt is { } known && invoked > known)
                violations.Add(new Violation(Name, $"{seen.Path} of session {seen.Owner} was seen by a read invoked at {invoked}, after the session's end was known at {known}"));
        }
        return violations;
    }
}
