using Mesh.Registry.Client;
using Mesh.Reliability.Tests.Checks;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// A watcher that long-polls <c>/v1/watch{path}?recursive=true</c> through the faults, failing
/// over between nodes with the index it has reached, and records what it received as
/// <see cref="WatchStream"/> segments. A segment ends only when a node answers 410
/// IndexCompacted (a legitimate restart from a fresh read); every such restart is counted.
/// </summary>
internal sealed class WatchRecorder(string name, RegistryClient client, string path)
{
    private readonly List<WatchStream> _segments = [];
    private readonly List<WatchEvent> _current = [];
    private long _segmentAfter;
    private long _index;

    public string Name => name;

    /// <summary>The last index the watcher has reached (every change up to it was delivered).</summary>
    public long Index => Volatile.Read(ref _index);

    public int Restarts { get; private set; }

    public int Errors { get; private set; }

    public int Polls { get; private set; }

    public IReadOnlyList<WatchStream> Segments
    {
        get
        {
            lock (_segments)
                return [.. _segments, new WatchStream($"{name}#{_segments.Count}", _segmentAfter, _index, [.. _current])];
        }
    }

    public async Task RunAsync(long after, CancellationToken stop)
    {
        _segmentAfter = after;
        _index = after;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                Polls++;
                var result = await client.WatchOnceAsync(path, _index, recursive: true, wait: TimeSpan.FromSeconds(2), cancellationToken: stop);
                lock (_segments)
                {
                    _current.AddRange(result.Events.Select(e => new WatchEvent(e.Index, e.Path, e.Type)));
                    Volatile.Write(ref _index, Math.Max(_index, result.Index));
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (RegistryException e) when (e.Code == RegistryErrorCodes.IndexCompacted)
            {
                // The node asked no longer keeps history back to our index (e.g. it restarted from
                // a snapshot): per the contract, re-read and watch from the read's index.
                long fresh;
                try
                {
                    fresh = await client.CurrentIndexAsync(path, stop);
                }
                catch (Exception ex) when (ex is RegistryException or HttpRequestException or OperationCanceledException)
                {
                    Errors++;
                    continue;
                }
                lock (_segments)
                {
                    _segments.Add(new WatchStream($"{name}#{_segments.Count}", _segmentAfter, _index, [.. _current]));
                    _current.Clear();
                    _segmentAfter = fresh;
                    Volatile.Write(ref _index, fresh);
                    Restarts++;
                }
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException or IOException)
            {
                Errors++;
                try
                {
                    await Task.Delay(100, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
