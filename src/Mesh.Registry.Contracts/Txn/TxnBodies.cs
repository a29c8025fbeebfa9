// POST /v1/txn (docs/registry-api.md, "Transactions"): all ops apply, or none.
namespace Mesh.Registry.Contracts;

/// <summary><c>POST /v1/txn</c> body. An op may be null here only because a client may send one; the server refuses it.</summary>
public sealed record TxnRequest(IReadOnlyList<TxnOpRequest?>? Ops);

/// <summary>
/// One op: <c>check</c>, <c>create</c>, <c>set</c> or <c>delete</c>. Fields an op does not use
/// are left out; <see cref="Version"/> -1 (or absent) means any version.
/// </summary>
public sealed record TxnOpRequest(
    string? Op,
    string? Path,
    byte[]? Data = null,
    long? Version = null,
    string? Mode = null,
    long? Session = null,
    bool? Parents = null,
    bool? Recursive = null);

/// <summary><c>POST /v1/txn</c> answer when every op applied, one result per op in order.</summary>
public sealed record TxnResponse(long Index, IReadOnlyList<TxnOpResult> Results);

/// <summary>
/// One op's result. Applied: its <see cref="Op"/>, <see cref="Path"/> and, for create and set, the
/// new <see cref="Stat"/>. In a refused transaction's error answer: <see cref="Error"/> only
/// (<c>Ok</c> for the ops that would have applied).
/// </summary>
public sealed record TxnOpResult(string? Op, string? Path, NodeStat? Stat, string? Error);
