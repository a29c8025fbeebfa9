namespace Mesh.Registry.Contracts;

/// <summary>
/// Every error answer: <c>{"error": code, "message": text}</c>, and for some codes one more field:
/// <see cref="OldestIndex"/> (IndexCompacted), <see cref="LimitBytes"/> (a body over its limit), or
/// <see cref="FailedOp"/> and <see cref="Results"/> (a refused transaction). Fields that do not
/// apply are left out.
/// </summary>
public sealed record ErrorResponse(
    string? Error,
    string? Message,
    long? OldestIndex = null,
    long? LimitBytes = null,
    int? FailedOp = null,
    IReadOnlyList<TxnOpResult>? Results = null);
