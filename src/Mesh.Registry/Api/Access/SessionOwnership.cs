using Mesh.Registry.Core.Sessions;

namespace Mesh.Registry.Api.Access;

/// <summary>
/// Whose sessions a caller may use. A session belongs to the namespace whose join token opened it
/// (its quota owner); an operator's session belongs to no namespace. A join token may keep alive,
/// close and bind ephemeral nodes to its own namespace's sessions only: otherwise one namespace
/// could end another's session (and with it every endpoint it registered), or keep a dead
/// workload's endpoints alive. Operators may use any session. Pure.
/// </summary>
internal static class SessionOwnership
{
    /// <summary>May <paramref name="caller"/> use <paramref name="session"/>? An unknown session is allowed here: the write answers that it has expired.</summary>
    public static AccessDecision Decide(ApiCaller? caller, long sessionId, SessionInfo? session) =>
        caller is ApiCaller.Workload { Scope.Namespace: var ns } && session is { Owner: var owner } && !string.Equals(owner, ns, StringComparison.Ordinal)
            ? AccessDecision.Forbidden($"session {sessionId} was not opened by namespace '{ns}'; a join token may use only sessions its namespace opened")
            : AccessDecision.Allow;

    /// <summary>Whether <paramref name="caller"/> sees <paramref name="session"/> in the session list: a join token sees its namespace's only.</summary>
    public static bool Shows(ApiCaller? caller, SessionInfo session) =>
        caller is not ApiCaller.Workload { Scope.Namespace: var ns } || string.Equals(session.Owner, ns, StringComparison.Ordinal);
}
