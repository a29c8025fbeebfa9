namespace Mesh.Reliability.Tests.Linearizability;

// Short constructors so that tests and generators read like the history they describe:
//   Ops.Write(client: 1, "x", "a", from: 0, to: 10)
//   Ops.Read(client: 2, "x", from: 20, to: 30, saw: "a")
// A null `to` means the operation never completed (outcome Unknown).

internal static class Ops
{
    private static int s_nextId;

    private static int NextId() => Interlocked.Increment(ref s_nextId);

    private static OpOutcome Done(long? to, OpOutcome outcome) => to is null ? OpOutcome.Unknown : outcome;

    /// <summary>A read that saw <paramref name="saw"/> (null = no node).</summary>
    public static Operation Read(int client, string key, long from, long? to, string? saw, long? version = null) =>
        new(NextId(), client, key, OpKind.Read, from, to, Done(to, saw is null ? OpOutcome.Absent : OpOutcome.Ok), saw, version);

    /// <summary>An unconditional set; Ok unless the outcome says otherwise (Absent: no node).</summary>
    public static Operation Write(int client, string key, string value, long from, long? to, OpOutcome outcome = OpOutcome.Ok, long? version = null) =>
        new(NextId(), client, key, OpKind.Write, from, to, Done(to, outcome), value, version);

    public static Operation CasVersion(int client, string key, long expected, string value, long from, long? to, OpOutcome outcome = OpOutcome.Ok, long? version = null) =>
        new(NextId(), client, key, OpKind.CompareAndSet, from, to, Done(to, outcome), value, version, ExpectedVersion: expected);

    public static Operation CasValue(int client, string key, string expected, string value, long from, long? to, OpOutcome outcome = OpOutcome.Ok) =>
        new(NextId(), client, key, OpKind.CompareAndSet, from, to, Done(to, outcome), value, ExpectedValue: expected);

    public static Operation Create(int client, string key, string value, long from, long? to, OpOutcome outcome = OpOutcome.Ok) =>
        new(NextId(), client, key, OpKind.Create, from, to, Done(to, outcome), value);

    public static Operation Delete(int client, string key, long from, long? to, OpOutcome outcome = OpOutcome.Ok) =>
        new(NextId(), client, key, OpKind.Delete, from, to, Done(to, outcome));
}
