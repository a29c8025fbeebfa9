namespace Mesh.Registry.ZooKeeper.Forwarding;

/// <summary>
/// The leader refused a forwarded request for its size (413) from its declared length, before
/// reading it: nothing of it was proposed, so this is a definite failure, unlike
/// <see cref="Consensus.OutcomeUnknownException"/>.
/// </summary>
internal sealed class ForwardTooLargeException(long bytes, long limit)
    : Exception($"the leader refused a forwarded body of {bytes} bytes (at most {limit}); nothing was proposed");
