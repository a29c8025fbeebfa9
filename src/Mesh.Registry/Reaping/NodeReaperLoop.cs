using Mesh.Common.Time;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.Reaping;

/// <summary>
/// ZooKeeper's ContainerManager for the registry: runs on every node and acts only while it leads.
/// Every <see cref="NodeReaperOptions.CheckInterval"/> it looks through the container and TTL nodes
/// with its clock (<see cref="Core.RegistryStateMachine.FindReapable"/>) and proposes the due ones
/// as one <see cref="ReapNodes"/>, whose deletes hold only for nodes still unchanged and empty when
/// it is applied, so every replica deletes the same nodes and one that got a child or new data
/// meanwhile stays. The state is read in slices of <see cref="ExaminedPerRead"/> nodes, so a
/// tree of many containers never holds the state lock for long.
/// </summary>
internal sealed partial class NodeReaperLoop(
    IConsensus consensus, RegistryStore store, RegistryWriter writer, NodeReaperOptions options, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    /// <summary>Container and TTL nodes looked at under one read of the state.</summary>
    public const int ExaminedPerRead = 10_000;

    private BackgroundLoop? _loop;

    public void Start() => (_loop = new BackgroundLoop(RunAsync)).Start();

    private Task RunAsync(CancellationToken stop) =>
        LeadershipLoop.RunAsync(consensus, LeadAsync, new RetryLoop(Backoff.Constant(options.CheckInterval), time), options.CheckInterval, time,
            e => Log.ProposalFailed(logger, e.Message), stop);

    private async Task LeadAsync(CancellationToken leading)
    {
        var maxNeverUsedMs = (long)options.MaxNeverUsed.TotalMilliseconds;
        await Ticker.RunAsync(options.CheckInterval, async token =>
        {
            // One sweep of every container and TTL node, a slice per read, at most one full command of deletes.
            var due = new List<ReapCandidate>();
            string? after = null;
            do
            {
                var now = writer.NowMs;
                var from = after;
                var scan = store.Read(s => s.ReapableCount == 0
                    ? new Core.ReapScan([], null)
                    : s.FindReapable(now, from, ExaminedPerRead, ReapNodes.MaxNodes - due.Count, maxNeverUsedMs));
                due.AddRange(scan.Due);
                after = scan.Next;
            }
            while (after is not null && due.Count < ReapNodes.MaxNodes && !token.IsCancellationRequested);
            if (due.Count == 0)
                return;
            var result = await writer.WriteAsync(new ReapNodes(writer.Header(), due), token).ConfigureAwait(false);
            var deleted = result.OpResults.Count(o => o.Error == Core.Results.ErrorCode.Ok);
            Log.Reaped(logger, deleted, due.Count - deleted, result.Index);
        }, leading, time, waitFirst: true).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _loop?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Reaped {Deleted} container and TTL nodes at index {Index} ({Kept} kept: changed meanwhile)")]
        public static partial void Reaped(ILogger logger, int deleted, int kept, long index);

        [LoggerMessage(2, LogLevel.Debug, "Reaping proposal failed: {Message}")]
        public static partial void ProposalFailed(ILogger logger, string message);
    }
}
