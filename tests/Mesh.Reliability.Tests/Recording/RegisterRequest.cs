using Mesh.Reliability.Tests.Linearizability;

namespace Mesh.Reliability.Tests.Recording;

/// <summary>What a workload asks of a register client.</summary>
internal sealed record RegisterRequest(OpKind Kind, string Key, string? Value = null, long? ExpectedVersion = null, string? ExpectedValue = null)
{
    public static RegisterRequest Read(string key) => new(OpKind.Read, key);

    public static RegisterRequest Write(string key, string value) => new(OpKind.Write, key, value);

    public static RegisterRequest Cas(string key, long expectedVersion, string value) => new(OpKind.CompareAndSet, key, value, expectedVersion);

    public static RegisterRequest Create(string key, string value) => new(OpKind.Create, key, value);

    public static RegisterRequest Delete(string key) => new(OpKind.Delete, key);
}

/// <summary>
/// What a register client answered: the outcome, the value a read saw (null = none), and the node
/// version the read saw or the write left, when the server reported it.
/// </summary>
internal sealed record RegisterResult(OpOutcome Outcome, string? Value = null, long? Version = null)
{
    public static RegisterResult Ok(long? version = null) => new(OpOutcome.Ok, null, version);

    public static RegisterResult Saw(string value, long? version) => new(OpOutcome.Ok, value, version);

    public static RegisterResult Absent { get; } = new(OpOutcome.Absent);

    public static RegisterResult Exists { get; } = new(OpOutcome.Exists);

    public static RegisterResult Failed { get; } = new(OpOutcome.Failed);
}
