namespace Mesh.Reliability.Tests.Linearizability;

/// <summary>
/// The sequential specification of one registry node: absent, or present with a value and a
/// version. Create makes version 0; each applied set or CAS adds one; delete removes the node.
/// This mirrors the registry's node <c>stat.version</c>, so CAS by version is checked exactly.
/// </summary>
internal readonly record struct VersionedRegister(bool Exists, string? Value, long Version)
{
    public static VersionedRegister Absent => default;

    public override string ToString() => Exists ? $"'{Value}' (version {Version})" : "absent";

    /// <summary>
    /// Applies <paramref name="op"/> to this state. Returns false when the operation's recorded
    /// answer is impossible from this state. An operation with an unknown outcome is applied and
    /// accepted whatever it would have answered.
    /// </summary>
    public bool TryStep(Operation op, out VersionedRegister next)
    {
        next = this;
        var known = !op.IsPending;
        switch (op.Kind)
        {
            case OpKind.Read:
                if (!known)
                    return true;
                return op.Outcome switch
                {
                    OpOutcome.Ok => Exists && Value == op.Value && (op.Version is null || op.Version == Version),
                    OpOutcome.Absent => !Exists,
                    _ => false,
                };

            case OpKind.Write:
                if (!Exists)
                    return !known || op.Outcome == OpOutcome.Absent;
                next = new VersionedRegister(true, op.Value, Version + 1);
                return !known || (op.Outcome == OpOutcome.Ok && (op.Version is null || op.Version == next.Version));

            case OpKind.CompareAndSet:
                var holds = Exists && (op.ExpectedVersion is { } v ? Version == v : Value == op.ExpectedValue);
                if (!holds)
                    return !known || op.Outcome == OpOutcome.Failed || (op.Outcome == OpOutcome.Absent && !Exists);
                next = new VersionedRegister(true, op.Value, Version + 1);
                return !known || (op.Outcome == OpOutcome.Ok && (op.Version is null || op.Version == next.Version));

            case OpKind.Create:
                if (Exists)
                    return !known || op.Outcome == OpOutcome.Exists;
                next = new VersionedRegister(true, op.Value, 0);
                return !known || (op.Outcome == OpOutcome.Ok && (op.Version is null || op.Version == 0));

            case OpKind.Delete:
                if (!Exists)
                    return !known || op.Outcome == OpOutcome.Absent;
                next = Absent;
                return !known || op.Outcome == OpOutcome.Ok;

            default:
                return false;
        }
    }
}
