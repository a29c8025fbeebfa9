using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Mesh.Registry.Api.Watches;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Events;
using Mesh.Registry.Watches;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using ChangeEvent = Mesh.Registry.Core.Events.ChangeEvent;

namespace Mesh.Registry.Tests.Watches;

/// <summary>
/// The stream writer on its own, over a response body that is a pipe: the interleavings of the
/// writer with the apply loop's fan-out that a real socket cannot be made to show on demand.
/// (Streams over real Kestrel listeners: <see cref="WatchStreamTests"/>.)
/// </summary>
public sealed class WatchStreamWriterTests
{
    [Fact]
    public async Task RecordTakenWhileItsIndexIsStillBeingQueued_IsFlushedAtOnce_NotLeftForTheNextTick()
    {
        var hub = new WatchHub(streams: new WatchFanoutOptions { SchedulePump = static pump => pump.Run() });
        var stream = hub.Fanout.Subscribe([new WatchTarget(WatchKind.Prefix, "/a")], "c", 0, withData: true);
        var body = new Pipe();
        var run = new WatchStreamEndpoints.StreamWriter(ContextWritingTo(body.Writer), stream, hub.Fanout).RunAsync();
        Assert.Equal(new WatchStreamRecord(WatchStreamRecord.Progress, 0), await ReadRecordAsync(body.Reader));

        // The fan-out has queued index 5 to this stream but not yet finished dispatching it (its
        // dispatched index is still 0) when the parked writer runs and takes the record.
        stream.TryEnqueue(5, WatchRecords.Change(new ChangeEvent(5, ChangeEventType.Created, "/a/x"), null));

        var record = await ReadRecordAsync(body.Reader);
        Assert.Equal(new WatchStreamRecord(Contracts.ChangeEvent.Created, 5, "/a/x"), record);
        // Its index is not complete yet, so the mark that follows says only what is.
        Assert.Equal(new WatchStreamRecord(WatchStreamRecord.Progress, 4), await ReadRecordAsync(body.Reader));

        stream.End("the test is over");
        var resume = await ReadRecordAsync(body.Reader);
        Assert.Equal(WatchStreamRecord.Resume, resume.Type);
        Assert.Equal(4, resume.Index);
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ParkedWriter_EveryChange_IsWrittenWithItsMark_ByThePump_AndTheRequestsTaskStaysParked()
    {
        var hub = new WatchHub(streams: new WatchFanoutOptions { SchedulePump = static pump => pump.Run() });
        var stream = hub.Fanout.Subscribe([new WatchTarget(WatchKind.Prefix, "/a")], "c", 0, withData: true);
        var body = new Pipe();
        var run = new WatchStreamEndpoints.StreamWriter(ContextWritingTo(body.Writer), stream, hub.Fanout).RunAsync();
        await ReadRecordAsync(body.Reader);

        for (var i = 1; i <= 3; i++)
        {
            hub.Publish(i, [new ChangeEvent(i, ChangeEventType.Created, "/a/" + i)]);
            Assert.Equal(new WatchStreamRecord(Contracts.ChangeEvent.Created, i, "/a/" + i), await ReadRecordAsync(body.Reader));
            Assert.Equal(new WatchStreamRecord(WatchStreamRecord.Progress, i), await ReadRecordAsync(body.Reader));
        }

        Assert.Equal(3, hub.Fanout.Pump.Runs);
        Assert.False(run.IsCompleted);
        stream.End("the test is over");
        Assert.Equal(3, (await ReadRecordAsync(body.Reader)).Index);
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static DefaultHttpContext ContextWritingTo(PipeWriter writer)
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(writer.AsStream()));
        return context;
    }

    private static async Task<WatchStreamRecord> ReadRecordAsync(PipeReader reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var read = await reader.ReadAsync(timeout.Token);
            var buffer = read.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } end)
            {
                var line = Encoding.UTF8.GetString(buffer.Slice(0, end));
                reader.AdvanceTo(buffer.GetPosition(1, end));
                return JsonSerializer.Deserialize(line, RegistryJson.Default.WatchStreamRecord)!;
            }
            Assert.False(read.IsCompleted, "the response ended before a whole record");
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
