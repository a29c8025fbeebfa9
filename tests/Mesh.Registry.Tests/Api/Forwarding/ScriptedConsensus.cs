using System.Net;
using Mesh.Registry.Consensus;

namespace Mesh.Registry.Tests.Api.Forwarding;

/// <summary>An <see cref="IConsensus"/> whose role, leader and read barrier a test sets.</summary>
internal sealed class ScriptedConsensus : IConsensus
{
    public int LocalId { get; init; } = 1;

    public volatile ConsensusRole CurrentRole = ConsensusRole.Follower;

    private int _leader = -1;

    public ConsensusRole Role => CurrentRole;

    public long Term => 1;

    public int? LeaderId
    {
        get => Volatile.Read(ref _leader) is var id and >= 0 ? id : null;
        set => Volatile.Write(ref _leader, value ?? -1);
    }

    public long CommitIndex => 0;

    public long AppliedIndex => 0;

    public CancellationToken LeadershipToken => CancellationToken.None;

    /// <summary>What <see cref="ReadBarrierAsync"/> waits for; completed unless a test replaces it.</summary>
    public Task Barrier { get; set; } = Task.CompletedTask;

    public int Barriers;

    public event Action<int?>? LeaderChanged { add { } remove { } }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<object?> ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task ReadBarrierAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Barriers);
        return Barrier.WaitAsync(cancellationToken);
    }

    public Task WaitForAppliedAsync(long index, CancellationToken cancellationToken) => Task.CompletedTask;

    public IReadOnlyList<MemberState> Members => [];

    public ValueTask<IPEndPoint?> PublishedClientEndPointAsync(int id, CancellationToken cancellationToken) => ValueTask.FromResult<IPEndPoint?>(null);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
