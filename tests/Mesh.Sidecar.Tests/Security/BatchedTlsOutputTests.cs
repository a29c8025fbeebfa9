using System.Buffers;
using System.IO.Pipelines;
using Mesh.Sidecar.Security;
using Mesh.Testing;
using Microsoft.AspNetCore.Connections;

namespace Mesh.Sidecar.Tests.Security;

/// <summary>
/// The batching between an inbound mTLS listener's HTTP layer and TLS, on pipes: what the HTTP
/// layer flushes reaches TLS whole, in order, in one write per copy, and a broken connection
/// under TLS ends the HTTP layer's writes instead of hanging them. (Real TLS through it:
/// <see cref="MeshTlsTests"/>.)
/// </summary>
public sealed class BatchedTlsOutputTests
{
    // A step that never comes fails the test instead of hanging the run.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task FlushesBeforeTheCopyRuns_ReachTlsAsOneWrite()
    {
        var scheduler = new ManualScheduler();
        var tls = new CountingWriter(new Pipe());
        var flushedThree = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var connection = Connection(tls);

        var running = BatchedTlsOutput.Use(async c =>
        {
            foreach (var frame in new[] { "HEADERS 1;", "HEADERS 3;", "DATA 3;" })
            {
                c.Transport.Output.Write(Bytes(frame));
                var flushed = await c.Transport.Output.FlushAsync();
                Assert.False(flushed.IsCompleted);
            }
            flushedThree.SetResult();
            await release.Task;
        }, scheduler)(connection);
        await flushedThree.Task.WaitAsync(Patience);

        Assert.Equal(1, scheduler.Pending);
        scheduler.RunAll();

        Assert.Equal(1, tls.Flushes);
        Assert.Equal("HEADERS 1;HEADERS 3;DATA 3;", await tls.ReadAllFlushedAsync());
        release.SetResult();
        scheduler.RunUntil(running);
        await running.WaitAsync(Patience);
    }

    [Fact]
    public async Task ManyMegabytes_UnderTlsBackpressure_ArriveWholeAndInOrder()
    {
        var tls = new CountingWriter(new Pipe(new PipeOptions(pauseWriterThreshold: 16 * 1024, resumeWriterThreshold: 8 * 1024)));
        var connection = Connection(tls);
        var sent = new byte[4 * 1024 * 1024];
        Random.Shared.NextBytes(sent);

        var running = BatchedTlsOutput.Use(async c =>
        {
            for (var offset = 0; offset < sent.Length; offset += 10_000)
            {
                c.Transport.Output.Write(sent.AsSpan(offset, Math.Min(10_000, sent.Length - offset)));
                await c.Transport.Output.FlushAsync();
            }
            await c.Transport.Output.CompleteAsync();
        })(connection);
        // Ends only if the HTTP layer's completion reaches TLS.
        var received = await tls.ReadToEndAsync().WaitAsync(Patience);
        await running.WaitAsync(Patience);

        Assert.Equal(sent, received);
    }

    [Fact]
    public async Task TlsBreaking_EndsTheHttpLayersWrites_AndTheConnection()
    {
        var tls = new CountingWriter(new Pipe()) { FailFlushes = true };
        var connection = Connection(tls);
        FlushResult last = default;

        await BatchedTlsOutput.Use(async c =>
        {
            // Flushes into the batching pipe succeed until the copy has met the failure.
            for (var i = 0; i < 1000 && !last.IsCompleted; i++)
            {
                c.Transport.Output.Write(Bytes("DATA;"));
                last = await c.Transport.Output.FlushAsync();
                await Task.Delay(1);
            }
        })(connection).WaitAsync(Patience);

        Assert.True(last.IsCompleted, "the HTTP layer's flush never reported the connection gone");
        await Eventually.TrueAsync(() => connection.ConnectionClosed.IsCancellationRequested, "the connection was aborted");
        Assert.Same(tls, connection.Transport.Output);
    }

    private static DefaultConnectionContext Connection(CountingWriter tls) =>
        new("test", new TestDuplexPipe(new Pipe().Reader, tls), new TestDuplexPipe(new Pipe().Reader, new Pipe().Writer));

    private static byte[] Bytes(string text) => System.Text.Encoding.ASCII.GetBytes(text);

    private sealed class TestDuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>TLS as the batching sees it: a pipe writer that counts flushes, or fails them.</summary>
    private sealed class CountingWriter(Pipe pipe) : PipeWriter
    {
        public int Flushes { get; private set; }

        public bool FailFlushes { get; init; }

        public override void Advance(int bytes) => pipe.Writer.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => pipe.Writer.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => pipe.Writer.GetSpan(sizeHint);

        public override void CancelPendingFlush() => pipe.Writer.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => pipe.Writer.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Flushes++;
            if (FailFlushes)
                throw new IOException("connection reset by peer");
            return pipe.Writer.FlushAsync(cancellationToken);
        }

        public async Task<string> ReadAllFlushedAsync()
        {
            var read = await pipe.Reader.ReadAsync();
            var text = System.Text.Encoding.ASCII.GetString(read.Buffer.ToArray());
            pipe.Reader.AdvanceTo(read.Buffer.End);
            return text;
        }

        public async Task<byte[]> ReadToEndAsync()
        {
            var all = new MemoryStream();
            while (true)
            {
                var read = await pipe.Reader.ReadAsync();
                foreach (var segment in read.Buffer)
                    all.Write(segment.Span);
                pipe.Reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                    return all.ToArray();
            }
        }
    }

    /// <summary>Runs what the batching pipe schedules only when the test says so.</summary>
    private sealed class ManualScheduler : PipeScheduler
    {
        private readonly Queue<(Action<object?> Action, object? State)> _queue = new();

        public int Pending
        {
            get { lock (_queue) return _queue.Count; }
        }

        public override void Schedule(Action<object?> action, object? state)
        {
            lock (_queue)
                _queue.Enqueue((action, state));
        }

        public void RunAll()
        {
            while (true)
            {
                (Action<object?> Action, object? State) next;
                lock (_queue)
                {
                    if (!_queue.TryDequeue(out next))
                        return;
                }
                next.Action(next.State);
            }
        }

        public void RunUntil(Task task)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!task.IsCompleted && DateTime.UtcNow < deadline)
            {
                RunAll();
                Thread.Sleep(1);
            }
        }
    }
}
