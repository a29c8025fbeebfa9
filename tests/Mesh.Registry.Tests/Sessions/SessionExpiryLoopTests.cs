using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Hosting;
using Mesh.Registry.Sessions;
using Mesh.Registry.Storage;
using Mesh.Registry.Telemetry;
using Mesh.Registry.Watches;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.Sessions;

/// <summary>
/// The leader's session expiry on scripted time, over a one-node log that applies every proposal
/// at once: when deadlines are reset, when a session expires (to the check), and what a lost term
/// or a failed proposal does.
/// </summary>
public sealed class SessionExpiryLoopTests : IAsyncLifetime
{
    private static readonly TimeSpan Check = SessionExpiryLoop.CheckInterval;

    private readonly ScriptedTime _time = new();
    private readonly RegistryMetrics _metrics = new(1);
    private readonly RegistryStore _store;
    private readonly ScriptedConsensus _consensus;
    private readonly SessionExpiryLoop _loop;

    public SessionExpiryLoopTests()
    {
        _store = new RegistryStore(new WatchHub(), _metrics);
        _consensus = new ScriptedConsensus(_store);
        _loop = new SessionExpiryLoop(_consensus, _store, new RegistryWriter(_consensus, _time, _metrics, TimeSpan.FromSeconds(5)), _time, NullLogger.Instance);
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private long OpenSession(long ttlMs) =>
        _consensus.Apply(new OpenSession(new CommandHeader(Guid.Empty, 0, NowMs), ttlMs)).SessionId;

    private bool Alive(long session) => _store.Read(s => s.TryGetSession(session, out _));

    private async Task StartLeadingAsync()
    {
        _consensus.Lead();
        _loop.Start();
        await Eventually.TrueAsync(() => _consensus.Count<ResetSessionDeadlines>() == 1, "the new leader never reset the deadlines");
    }

    [Fact]
    public async Task Leading_ResetsDeadlinesFirst_SoTimeWithoutALeaderExpiresNobody()
    {
        var session = OpenSession(1_000);
        _time.Advance(TimeSpan.FromSeconds(5)); // no leader meanwhile: nobody could keep alive

        await StartLeadingAsync();
        await _time.AdvanceWhenWaitingAsync(Check);
        await _time.WaitingAsync();

        Assert.IsType<ResetSessionDeadlines>(_consensus.Proposed[0]);
        Assert.True(Alive(session));
        Assert.Equal(NowMs - Check.TotalMilliseconds + 1_000, _store.Read(s => s.GetSessions()[0].DeadlineMs));
    }

    [Fact]
    public async Task Session_ExpiresAtTheFirstCheckPastItsDeadline_AndNotBefore()
    {
        await StartLeadingAsync();
        var session = OpenSession(1_000);

        for (var i = 0; i < 4; i++)
        {
            await _time.AdvanceWhenWaitingAsync(Check); // 200 .. 800 ms: not due
        }
        await _time.WaitingAsync();
        Assert.True(Alive(session));
        Assert.Equal(0, _consensus.Count<ExpireSessions>());

        _time.Advance(Check); // 1000 ms: the deadline
        await Eventually.TrueAsync(() => !Alive(session), "the session outlived its deadline");

        var expire = Assert.IsType<ExpireSessions>(Assert.Single(_consensus.Proposed, c => c is ExpireSessions));
        Assert.Equal(NowMs, expire.NowMs);
    }

    [Fact]
    public async Task IdleLeader_ProposesExpiryEveryIdleInterval_SoDedupEntriesArePruned()
    {
        await StartLeadingAsync();

        await _time.AdvanceWhenWaitingAsync(SessionExpiryLoop.IdleExpireInterval - Check);
        await _time.WaitingAsync();
        Assert.Equal(0, _consensus.Count<ExpireSessions>());

        _time.Advance(Check);
        await Eventually.TrueAsync(() => _consensus.Count<ExpireSessions>() == 1, "an idle leader never proposed expiry");
    }

    [Fact]
    public async Task LostLeadership_StopsExpiry_AndTheNextTermResetsDeadlinesAgain()
    {
        await StartLeadingAsync();
        var session = OpenSession(1_000);
        await _time.WaitingAsync();

        _consensus.StepDown();
        for (var i = 0; i < 10; i++)
        {
            await _time.AdvanceWhenWaitingAsync(Check); // a follower polls for leadership, 2 s in all
        }
        Assert.True(Alive(session));
        Assert.Equal(0, _consensus.Count<ExpireSessions>());

        _consensus.Lead();
        await _time.AdvanceWhenWaitingAsync(Check);
        await Eventually.TrueAsync(() => _consensus.Count<ResetSessionDeadlines>() == 2, "the next term never reset the deadlines");
        Assert.True(Alive(session));
    }

    [Fact]
    public async Task FailedProposal_IsRetriedAfterTheBackoff()
    {
        _consensus.FailNext = new QuorumUnavailableException("no quorum");
        _consensus.Lead();
        _loop.Start();

        // The reset failed; the retry waits a backoff of at most one check interval.
        await _time.AdvanceWhenWaitingAsync(Check);
        await Eventually.TrueAsync(() => _consensus.Count<ResetSessionDeadlines>() == 1, "the failed reset was never retried");
        Assert.Equal(2, _consensus.Attempts);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // xunit 2 calls IAsyncLifetime, never IAsyncDisposable: this stops the loop each test started.
    public async Task DisposeAsync()
    {
        await _loop.DisposeAsync();
        _metrics.Dispose();
    }

    /// <summary>A one-node log: a proposal is applied at once, in order; leadership is the test's to give and take.</summary>
    private sealed class ScriptedConsensus(RegistryStore store) : IConsensus
    {
        private readonly Lock _gate = new();
        private readonly List<Command> _proposed = [];
        private CancellationTokenSource _leadership = Ended();
        private long _index;
        private int _attempts;

        private Exception? _failNext;

        /// <summary>The next proposal fails with this, as a lost quorum would.</summary>
        public Exception? FailNext { set => _failNext = value; }

        public int Attempts => Volatile.Read(ref _attempts);

        public IReadOnlyList<Command> Proposed
        {
            get
            {
                lock (_gate)
                    return [.. _proposed];
            }
        }

        public int Count<T>() => Proposed.Count(c => c is T);

        public void Lead() => _leadership = new CancellationTokenSource();

        public void StepDown() => _leadership.Cancel();

        public ApplyResult Apply(Command command)
        {
            lock (_gate)
                return (ApplyResult)store.Apply(++_index, CommandCodec.Encode(command))!;
        }

        public Task<object?> ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            if (Interlocked.Exchange(ref _failNext, null) is { } failure)
                return Task.FromException<object?>(failure);
            if (LeadershipToken.IsCancellationRequested)
                return Task.FromException<object?>(new NotLeaderException(null));
            lock (_gate)
            {
                _proposed.Add(CommandCodec.Decode(command.Span));
                return Task.FromResult(store.Apply(++_index, command));
            }
        }

        public int LocalId => 1;
        public ConsensusRole Role => LeadershipToken.IsCancellationRequested ? ConsensusRole.Follower : ConsensusRole.Leader;
        public long Term => 1;
        public int? LeaderId => LeadershipToken.IsCancellationRequested ? null : 1;
        public long CommitIndex => Interlocked.Read(ref _index);
        public long AppliedIndex => Interlocked.Read(ref _index);
        public CancellationToken LeadershipToken => _leadership.Token;
        public IReadOnlyList<MemberState> Members => [];

        public event Action<int?>? LeaderChanged { add { } remove { } }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task ReadBarrierAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task WaitForAppliedAsync(long index, CancellationToken cancellationToken) => Task.CompletedTask;
        public ValueTask<System.Net.IPEndPoint?> PublishedClientEndPointAsync(int id, CancellationToken cancellationToken) => ValueTask.FromResult<System.Net.IPEndPoint?>(null);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private static CancellationTokenSource Ended()
        {
            var ended = new CancellationTokenSource();
            ended.Cancel();
            return ended;
        }
    }
}
