using System.Diagnostics;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Storage;
using Mesh.Registry.Telemetry;

namespace Mesh.Registry.Hosting;

/// <summary>
/// The one write path on the leader: stamp a command with the leader's clock, encode it, propose
/// it and hand back the core's <see cref="ApplyResult"/>. Used by the client API and by the
/// session expiry loop.
/// </summary>
internal sealed class RegistryWriter(IConsensus consensus, TimeProvider time, RegistryMetrics metrics, TimeSpan timeout)
{
    public long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    public CommandHeader Header(Guid clientId = default, long sequence = 0) => new(clientId, sequence, NowMs);

    /// <summary>
    /// Throws <see cref="NotLeaderException"/> when nothing was proposed (this node does not lead),
    /// and <see cref="OutcomeUnknownException"/> once the command was proposed but no result came
    /// back (including the write timeout).
    /// </summary>
    public async Task<ApplyResult> WriteAsync(Command command, CancellationToken cancellationToken)
    {
        var bytes = CommandCodec.Encode(command);
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        object? result;
        try
        {
            result = await consensus.ProposeAsync(bytes, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OutcomeUnknownException($"the write was not committed within {timeout.TotalSeconds:0.#} s; its outcome is unknown");
        }
        metrics.RecordWrite(Stopwatch.GetElapsedTime(started));
        return result switch
        {
            ApplyResult applied => applied,
            CommandRejected rejected => throw new InvalidOperationException("The state machine rejected the command: " + rejected.Message),
            _ => throw new InvalidOperationException("The state machine returned no result."),
        };
    }
}
