using System.Net;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>
/// The registry answered with an error (e.g. <c>NoNode</c>, <c>BadVersion</c>). <see cref="Code"/>
/// is the registry's error code (see docs/registry-api.md).
/// </summary>
public class RegistryException(string code, string message, HttpStatusCode? status = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string Code { get; } = code;
    public HttpStatusCode? Status { get; } = status;

    /// <summary>The registry index the failed read saw (<c>X-Mesh-Index</c>), when the server said.</summary>
    public long? Index { get; init; }
}

/// <summary>No registry address answered within the request deadline; for a write, nothing was applied.</summary>
public class RegistryUnavailableException : RegistryException
{
    public RegistryUnavailableException(string message, Exception? inner = null)
        : base(RegistryErrorCodes.Unavailable, message, null, inner)
    {
    }

    private protected RegistryUnavailableException(string code, string message, Exception? inner)
        : base(code, message, null, inner)
    {
    }
}

/// <summary>
/// A write the client gave up on after at least one attempt that may have been applied (sent and
/// unanswered, or answered <c>OutcomeUnknown</c>): it may or may not have taken effect. Code
/// <c>OutcomeUnknown</c>. Read the state, or retry with the same idempotency headers, to find out.
/// </summary>
public sealed class RegistryOutcomeUnknownException(string message, Exception? inner = null)
    : RegistryUnavailableException(RegistryErrorCodes.OutcomeUnknown, message, inner);

/// <summary>The registry codes a client acts on.</summary>
public static class RegistryErrorCodes
{
    public const string NoNode = "NoNode";
    public const string NodeExists = "NodeExists";
    public const string BadVersion = "BadVersion";
    public const string NotEmpty = "NotEmpty";
    public const string SessionExpired = "SessionExpired";
    public const string IndexCompacted = "IndexCompacted";
    public const string InvalidPath = "InvalidPath";

    /// <summary>A request the registry cannot make sense of (an unknown parameter names an older registry).</summary>
    public const string BadRequest = "BadRequest";

    /// <summary>An API path the registry does not serve (for a watch stream: a registry older than streaming watches).</summary>
    public const string NotFound = "NotFound";
    public const string TooManyWatches = "TooManyWatches";
    public const string Unavailable = "Unavailable";
    public const string Timeout = "Timeout";

    /// <summary>A write was proposed but no result came back (504): it may or may not be applied.</summary>
    public const string OutcomeUnknown = "OutcomeUnknown";
}

/// <summary>A transaction was refused: nothing was applied. <see cref="FailedOp"/> is the op at fault.</summary>
public sealed class RegistryTransactionException(
    string code, string message, HttpStatusCode? status, int failedOp, IReadOnlyList<TxnOpResult> results)
    : RegistryException(code, message, status)
{
    public int FailedOp { get; } = failedOp;
    public IReadOnlyList<TxnOpResult> Results { get; } = results;
}
