namespace Mesh.Reliability.Tests.Checks;

// The history checks other than linearizability. Each takes plain data recorded during a run
// and returns every violation it finds (none = the property held), so a failing run reports all
// its problems at once.

/// <summary>One broken property, in words a reader of a failed run can act on.</summary>
internal sealed record Violation(string Check, string Message)
{
    public override string ToString() => $"{Check}: {Message}";
}
