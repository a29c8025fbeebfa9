using System.Net;
using System.Net.Sockets;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Tests.Watches;

/// <summary><c>GET /v1/watch-stream</c> on real nodes over real sockets.</summary>
public sealed class WatchStreamTests
{
    private static readonly int Watchers = int.TryParse(Environment.GetEnvironmentVariable("MESH_TEST_WATCHERS"), out var n) ? n : 200;

    [Fact]
    public async Task WatchStream_PostedWithMoreWatchesThanAUrlHolds_StreamsTheirChanges()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Nodes[0]!;
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        // 400 watches of ~55 bytes: 22 KB, well past the 8 KiB request line a GET has.
        var paths = Enumerable.Range(0, 400).Select(i => $"/services/a-rather-long-service-name-number-{i:D3}/instances").ToList();
        var form = string.Join('&', paths.Select(p => "prefix=" + Uri.EscapeDataString(p)));
        Assert.True(form.Length > 16 * 1024);

        await using var stream = await WatchStreamReader.OpenPostAsync(http, node.ClientUrl, form);
        Assert.Equal(WatchStreamRecord.Progress, (await stream.NextAsync())!.Type);
        await cluster.CreateOnLeaderAsync("/services", "");
        await cluster.CreateOnLeaderAsync(paths[399][..^"/instances".Length], "");
        var (path, index) = await cluster.CreateOnLeaderAsync(paths[399], "");

        var records = await stream.UntilAsync(r => r.Path == path);
        Assert.Equal(new WatchStreamRecord(ChangeEvent.Created, index, path), records[^1]);
    }

    [Theory]
    [InlineData("text/plain", "prefix=%2Fa", "", "application/x-www-form-urlencoded")]
    [InlineData("application/x-www-form-urlencoded", "prefix=%2Fa", "?after=1", "not in the URL")]
    [InlineData("application/x-www-form-urlencoded", "colour=red", "", "unknown parameter 'colour'")]
    [InlineData("application/x-www-form-urlencoded", "prefix=relative", "", "prefix='relative'")]
    public async Task WatchStream_BadPost_Is400NamingTheProblem(string contentType, string body, string query, string named)
    {
        await using var cluster = await TestCluster.StartAsync(1);
        using var http = new HttpClient { Timeout = TestCluster.Timeout };
        using var content = new StringContent(body, System.Text.Encoding.ASCII);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        using var response = await http.PostAsync(new Uri(cluster.Nodes[0]!.ClientUrl, "/v1/watch-stream" + query), content);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        using var json = System.Text.Json.JsonDocument.Parse(text);
        Assert.Contains(named, json.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WatchStream_WithData_CarriesTheNodesData_ThenAProgressMarkCompletingItsIndex_AndWithoutDataTheOldRecord()
    {
        await using var cluster = await TestCluster.StartAsync(1);
        var node = cluster.Nodes[0]!;
        var (path, _) = await cluster.CreateOnLeaderAsync("/config/routes/r", "doc");
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        await using var withData = await WatchStreamReader.OpenAsync(http, node.ClientUrl, "prefix=%2Fconfig%2Froutes&data=true");
        await using var bare = await WatchStreamReader.OpenAsync(http, node.ClientUrl, "prefix=%2Fconfig%2Froutes");
        Assert.Equal(WatchStreamRecord.Progress, (await withData.NextAsync())!.Type);
        Assert.Equal(WatchStreamRecord.Progress, (await bare.NextAsync())!.Type);

        using var set = await http.PutAsync(new Uri(node.ClientUrl, "/v1/nodes/config/routes/r"), new StringContent("changed"));
        var index = (await cluster.JsonAsync(set, HttpStatusCode.OK)).GetProperty("index").GetInt64();

        var record = (await withData.UntilAsync(r => r.Path == path))[^1];
        Assert.Equal((ChangeEvent.DataChanged, index, "changed", 1L), (record.Type, record.Index, System.Text.Encoding.UTF8.GetString(record.Data!.Value.Span), record.Version));
        var progress = (await withData.NextAsync())!;
        Assert.Equal(WatchStreamRecord.Progress, progress.Type);
        Assert.True(progress.Index >= index, $"progress {progress.Index} does not complete index {index}");
        Assert.Equal(new WatchStreamRecord(ChangeEvent.DataChanged, index, path), (await bare.UntilAsync(r => r.Path == path))[^1]);
    }

    [Fact]
    public async Task WatchStream_OneChange_ReachesEveryStreamOnEveryNode()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        // Every node has applied the parent before the streams start from its index.
        await cluster.WaitAppliedAsync((await cluster.CreateOnLeaderAsync("/config/routes", "")).Index);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = Timeout.InfiniteTimeSpan };
        var nodes = cluster.Nodes.Select(n => n!).ToArray();
        var streams = new List<WatchStreamReader>();
        try
        {
            for (var i = 0; i < Watchers; i++)
            {
                var stream = await WatchStreamReader.OpenAsync(http, nodes[i % nodes.Length].ClientUrl, "prefix=/config/routes&path=/elsewhere");
                Assert.Equal(WatchStreamRecord.Progress, (await stream.NextAsync())!.Type);
                streams.Add(stream);
            }
            Assert.Equal(Watchers, nodes.Sum(n => n.Store.Hub.Fanout.Streams));

            var (path, index) = await cluster.CreateOnLeaderAsync("/config/routes/r1", "route");

            var seen = await Task.WhenAll(streams.Select(s => s.UntilAsync(r => r.Path == path)));
            Assert.All(seen, records =>
            {
                Assert.Equal(new WatchStreamRecord(ChangeEvent.Created, index, path), records[^1]);
                Assert.All(records.SkipLast(1), r => Assert.Equal(WatchStreamRecord.Progress, r.Type));
            });
        }
        finally
        {
            foreach (var stream in streams)
                await stream.DisposeAsync();
        }
    }

    [Fact]
    public async Task WatchStream_ReopenedOnAnotherNodeAfterItsLastIndex_GetsExactlyTheChangesMissed()
    {
        await using var cluster = await TestCluster.StartAsync(3, FastProgress);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var first = cluster.Nodes[0]!;
        var second = cluster.Nodes[1]!;
        var (_, start) = await cluster.CreateOnLeaderAsync("/a", "");

        long resumeAfter;
        await using (var stream = await WatchStreamReader.OpenAsync(http, first.ClientUrl, $"prefix=/a&after={start}"))
        {
            // Created under another name (path-rN) when an election made the first attempt fail.
            var (onePath, one) = await cluster.CreateOnLeaderAsync("/a/1", "");
            var records = await stream.UntilAsync(r => r.Type == WatchStreamRecord.Progress && r.Index >= one);
            Assert.Equal([onePath, "/a"], records.Where(r => r.IsChange).Select(r => r.Path));
            resumeAfter = records[^1].Index;
        }

        var (twoPath, two) = await cluster.CreateOnLeaderAsync("/a/2", "");
        await cluster.CreateOnLeaderAsync("/b", "");
        var (threePath, three) = await cluster.CreateOnLeaderAsync("/a/3", "");
        await cluster.WaitAppliedAsync(three);

        await using var resumed = await WatchStreamReader.OpenAsync(http, second.ClientUrl, $"prefix=/a&after={resumeAfter}");
        var missed = await resumed.UntilAsync(r => r.Type == WatchStreamRecord.Progress && r.Index >= three);
        Assert.Equal(
            [(two, twoPath), (two, "/a"), (three, threePath), (three, "/a")],
            missed.Where(r => r.IsChange).Select(r => (r.Index, r.Path!)));
    }

    [Fact]
    public async Task WatchStream_QuietStream_GetsProgressMarksWithTheAppliedIndex()
    {
        await using var cluster = await TestCluster.StartAsync(1, FastProgress);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var node = cluster.Nodes[0]!;
        await using var stream = await WatchStreamReader.OpenAsync(http, node.ClientUrl, "path=/quiet");
        var (_, index) = await cluster.CreateOnLeaderAsync("/elsewhere", "");

        var records = await stream.UntilAsync(r => r.Index >= index);

        Assert.All(records, r => Assert.Equal(WatchStreamRecord.Progress, r.Type));
        Assert.Equal(records.Select(r => r.Index).Order(), records.Select(r => r.Index));
    }

    [Fact]
    public async Task WatchStream_SlowReader_IsCutOffWithAResumeRecord_BufferStaysBounded_ResumeMissesNothing()
    {
        const int Buffer = 16;
        await using var cluster = await TestCluster.StartAsync(1, o => o with { Limits = o.Limits with { WatchStreamBufferRecords = Buffer } });
        var node = cluster.Nodes[0]!;
        var fanout = node.Store.Hub.Fanout;
        await cluster.CreateOnLeaderAsync("/slow", "");
        // A reader with a tiny socket window that reads nothing until the writes are done: however
        // fast or slow the writes are on this machine, the node's buffer for it must fill.
        using var slowHttp = new HttpClient(new SocketsHttpHandler { ConnectCallback = SmallWindowAsync }) { Timeout = Timeout.InfiniteTimeSpan };
        var slow = await WatchStreamReader.OpenAsync(slowHttp, node.ClientUrl, "prefix=/slow");
        var read = new List<WatchStreamRecord>();
        var writesDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reset = false;
        var reading = Task.Run(async () =>
        {
            await writesDone.Task;
            try
            {
                while (await slow.NextAsync() is { } record)
                    read.Add(record);
            }
            catch (IOException)
            {
                // The node aborts a cut stream whose socket stays full (this reader reads nothing),
                // so the resume record may never get through; the reader resumes from what it has.
                reset = true;
            }
        });

        var name = new string('n', 4000); // about 4 KB a record: the socket buffers (up to 4 MiB) fill within about a thousand writes
        var written = new List<(long Index, string Path)>();
        var mostBuffered = 0L;
        for (var i = 0; i < 6000 && fanout.Streams > 0; i++)
        {
            var (path, index) = await cluster.CreateOnLeaderAsync($"/slow/{name}{i:D4}", "");
            written.Add((index, path));
            mostBuffered = Math.Max(mostBuffered, fanout.BufferedRecords);
        }
        // The fan-out queues records behind the applied index; on a busy machine it may still be
        // catching up with the last writes, so the cut may come after them.
        await Eventually.TrueAsync(() =>
        {
            mostBuffered = Math.Max(mostBuffered, fanout.BufferedRecords);
            return fanout.Streams == 0;
        }, $"{written.Count} writes and the reader that read nothing was never cut (at most {mostBuffered} records buffered)");
        writesDone.SetResult();

        await reading.WaitAsync(TestCluster.Timeout);
        await slow.DisposeAsync();
        // Never more than the bound plus one command's records waited in the node for this reader.
        Assert.InRange(mostBuffered, 0, Buffer + 2);
        long resumeIndex;
        if (read.Count > 0 && read[^1].Type == WatchStreamRecord.Resume)
        {
            Assert.Contains("fell more than 16 records behind", read[^1].Message);
            resumeIndex = read[^1].Index;
        }
        else
        {
            // Reset before the resume record: resume after the last index received whole (the
            // last one seen may be cut in half).
            Assert.True(reset, $"the stream ended after {read.Count} records without a resume record or a reset");
            resumeIndex = read.Where(r => r.IsChange).Select(r => r.Index).DefaultIfEmpty(written[0].Index).Max() - 1;
            read = read.Where(r => r.Index <= resumeIndex).ToList();
        }
        Assert.True(resumeIndex < written[^1].Index, $"cut at {resumeIndex}, the last write was {written[^1].Index}");

        // Resuming from the cut: up to the bound of changes came after it, the resumed stream
        // replays them; more, and the node answers 410 IndexCompacted (re-read, then watch from the
        // read's index) instead of cutting the resumed stream again before it sent anything.
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var rest = new List<WatchStreamRecord>();
        var backlog = written.Count(w => w.Index > resumeIndex);
        if (backlog > Buffer)
        {
            using var refused = await http.GetAsync(new Uri(node.ClientUrl, $"/v1/watch-stream?prefix=/slow&after={resumeIndex}"), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.Gone, refused.StatusCode);
            Assert.Contains("IndexCompacted", await refused.Content.ReadAsStringAsync());
            var listing = await cluster.JsonAsync(await http.GetAsync(new Uri(node.ClientUrl, "/v1/nodes/slow?children=true")), HttpStatusCode.OK);
            var children = listing.GetProperty("children").EnumerateArray().Select(c => "/slow/" + c.GetString()).ToHashSet();
            Assert.All(written, w => Assert.Contains(w.Path, children));
            written = written.Where(w => w.Index <= resumeIndex).ToList();
        }
        else
        {
            await using var again = await WatchStreamReader.OpenAsync(http, node.ClientUrl, $"prefix=/slow&after={resumeIndex}");
            rest = await again.UntilAsync(r => r.Path == written[^1].Path);
        }
        var created = read.Concat(rest).Where(r => r.Type == ChangeEvent.Created).Select(r => (r.Index, r.Path!)).ToList();
        Assert.Equal(written, created.Distinct());
        Assert.All(rest.Where(r => r.IsChange), r => Assert.True(r.Index > resumeIndex));
        await Eventually.TrueAsync(() => fanout.Streams == 0 && fanout.BufferedRecords == 0, "the cut stream was not released");
    }

    [Theory]
    [InlineData("", 400, "BadRequest", "at least one watch")]
    [InlineData("prefix=relative", 400, "InvalidPath", "prefix='relative'")]
    [InlineData("path=/a/", 400, "InvalidPath", "path='/a/'")]
    [InlineData("prefix=/a&colour=red", 400, "BadRequest", "unknown parameter 'colour'")]
    [InlineData("prefix=/a&after=abc", 400, "BadRequest", "after='abc' is not an integer")]
    [InlineData("prefix=/a&after=-5", 400, "BadRequest", "after=-5")]
    [InlineData("prefix=/a&trust=maybe", 400, "BadRequest", "trust='maybe'")]
    [InlineData("prefix=/1&prefix=/2&path=/3&path=/4&trust=true", 400, "TooManyWatches", "5 watches on one stream; at most 4")]
    [InlineData("prefix=/mesh/ca", 403, "Forbidden", "/v1/ca/root")]
    public async Task WatchStream_BadRequest_IsRefusedWithACodeNamingTheProblem(string query, int status, string code, string message)
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with { Limits = o.Limits with { MaxWatchesPerStream = 4 } });
        using var response = await cluster.Http.GetAsync(cluster.Url(cluster.Nodes[0]!, "/v1/watch-stream?" + query));
        var body = await cluster.JsonAsync(response, (HttpStatusCode)status);
        Assert.Equal(code, body.GetProperty("error").GetString());
        Assert.Contains(message, body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task WatchStream_AfterOlderThanTheKeptHistory_Is410IndexCompacted()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with { WatchHistory = 4 });
        for (var i = 0; i < 8; i++)
            await cluster.CreateOnLeaderAsync($"/h{i}", "");

        using var response = await cluster.Http.GetAsync(cluster.Url(cluster.Nodes[0]!, "/v1/watch-stream?prefix=/&after=1"));

        var body = await cluster.JsonAsync(response, HttpStatusCode.Gone);
        Assert.Equal("IndexCompacted", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task WatchStream_MoreStreamsThanACallerMayHold_Is429_AndAClosedStreamFreesItsPlace()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with { Limits = o.Limits with { MaxWatchStreamsPerCaller = 2 } });
        var node = cluster.Nodes[0]!;
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var one = await WatchStreamReader.OpenAsync(http, node.ClientUrl, "prefix=/a");
        await using var two = await WatchStreamReader.OpenAsync(http, node.ClientUrl, "prefix=/a");

        using (var refused = await cluster.Http.GetAsync(cluster.Url(node, "/v1/watch-stream?prefix=/a")))
        {
            var body = await cluster.JsonAsync(refused, HttpStatusCode.TooManyRequests);
            Assert.Contains("already holds 2 watch streams", body.GetProperty("message").GetString());
        }

        await one.DisposeAsync();
        await Eventually.TrueAsync(() => node.Store.Hub.Fanout.Streams == 1, "the closed stream was not released");
        await using var three = await WatchStreamReader.OpenAsync(http, node.ClientUrl, "prefix=/a");
    }

    [Fact]
    public async Task WatchStream_POSTedStreamsOverTheCallersWatchLimit_Are429_AndAClosedStreamFreesItsWatches()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with { Limits = o.Limits with { MaxWatchesPerCaller = 100 } });
        var node = cluster.Nodes[0]!;
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var sixty = string.Join('&', Enumerable.Range(0, 60).Select(i => $"path=/w/{i}"));
        var one = await WatchStreamReader.OpenPostAsync(http, node.ClientUrl, sixty);

        // Fewer streams than --max-watch-streams, but more watches in all than the caller may hold.
        using (var refused = await cluster.Http.PostAsync(cluster.Url(node, "/v1/watch-stream"),
            new StringContent(sixty, System.Text.Encoding.ASCII, "application/x-www-form-urlencoded")))
        {
            var body = await cluster.JsonAsync(refused, HttpStatusCode.TooManyRequests);
            Assert.Equal("TooManyRequests", body.GetProperty("error").GetString());
            Assert.Contains("holds 60 watches", body.GetProperty("message").GetString());
            Assert.Contains("--max-watches-per-caller", body.GetProperty("message").GetString());
        }
        await using var small = await WatchStreamReader.OpenAsync(http, node.ClientUrl, "prefix=/w");

        await one.DisposeAsync();
        await Eventually.TrueAsync(() => node.Store.Hub.Fanout.Streams == 1, "the closed stream was not released");
        await using var again = await WatchStreamReader.OpenPostAsync(http, node.ClientUrl, sixty);
    }

    [Fact]
    public async Task WatchStream_NodeStopping_EndsItsStreamsWithAResumeRecord()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var follower = cluster.Follower();
        var (_, index) = await cluster.CreateOnLeaderAsync("/x", "");
        await cluster.WaitAppliedAsync(index);
        await using var stream = await WatchStreamReader.OpenAsync(http, follower.ClientUrl, $"prefix=/x&after={index}");
        Assert.Equal(WatchStreamRecord.Progress, (await stream.NextAsync())!.Type);

        await cluster.StopNodeAsync(follower.Id);

        var last = await stream.NextAsync();
        Assert.Equal(WatchStreamRecord.Resume, last!.Type);
        Assert.True(last.Index >= index);
        Assert.Contains("stopping", last.Message);
    }

    private static Mesh.Registry.Hosting.RegistryNodeOptions FastProgress(Mesh.Registry.Hosting.RegistryNodeOptions options) =>
        options with { Limits = options.Limits with { WatchProgressInterval = TimeSpan.FromMilliseconds(100) } };

    private static async ValueTask<Stream> SmallWindowAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 2048 };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
