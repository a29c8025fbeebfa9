// One streaming watch shared by everything a process watches (a sidecar's endpoints, routes,
// policies and trust bundle): subscribers come and go, and the stream is reopened with the new
// set of watches from where it was, so the registry holds one connection per client, not one
// long poll per watched thing. Subscribers are told "something you watch changed at index N" and
// read the state themselves, so a change told twice only costs a read; or, when the stream carries
// the data of small nodes (data=true), they are handed the records of every index the stream has
// completed, each once, and apply them to their snapshot without a read.
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client;

/// <summary>The streaming watch behind <see cref="RegistryWatches"/>; one per <see cref="RegistryClient"/>.</summary>
internal sealed class RegistryWatcher : IDisposable
{
    private readonly RegistryClient _client;
    private readonly Lock _gate = new();
    private readonly List<Subscription> _subscriptions = [];
    private readonly CancellationTokenSource _stop = new();
    private CancellationTokenSource? _connection;
    private TaskCompletionSource _setChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private int _version;
    private long _resume = -1;
    private int _unsupported;
    private int _dataUnsupported;

    public RegistryWatcher(RegistryClient client) => _client = client;

    /// <summary>The registry answered that it has no streaming watches (an older version): watch with long polls instead.</summary>
    public bool Unsupported => Volatile.Read(ref _unsupported) == 1;

    /// <summary>The registry refused <c>data=true</c> (an older version): streams go without, and every change is read.</summary>
    public bool DataUnsupported => Volatile.Read(ref _dataUnsupported) == 1;

    /// <summary>Called with every change record as it is read off the stream, before the subscribers hear of it (the scale bench times the stream apart from the reads that follow).</summary>
    internal Action<WatchStreamRecord>? RecordRead { get; set; }

    /// <summary>Streams opened so far (a reconnect or a new set of watches opens one).</summary>
    public int Connections { get; private set; }

    /// <summary>
    /// Starts watching <paramref name="watch"/> for changes after <paramref name="after"/> (the
    /// index of the state the subscriber has read). Dispose the subscription to stop.
    /// </summary>
    public Subscription Subscribe(StreamWatch watch, long after)
    {
        var subscription = new Subscription(this, watch, after);
        TaskCompletionSource changed;
        lock (_gate)
        {
            _subscriptions.Add(subscription);
            _version++;
            _loop ??= Task.Run(() => RunAsync(_stop.Token));
            changed = _setChanged;
            _setChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
            // The open stream does not carry the new watch: reopen it.
            _connection?.Cancel();
        }
        changed.TrySetResult();
        return subscription;
    }

    private void Remove(Subscription subscription)
    {
        // The stream keeps carrying the watch until the next reopen; its records are just not told to anyone.
        lock (_gate)
        {
            _subscriptions.Remove(subscription);
            _version++;
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Subscription[] current;
            int version;
            Task setChanged;
            long after;
            using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
            lock (_gate)
            {
                current = [.. _subscriptions];
                version = _version;
                setChanged = _setChanged.Task;
                _connection = connection;
                // From the oldest index someone still needs: subscribers that joined since the last
                // open have read the state at their own index.
                after = _resume;
                foreach (var subscription in current)
                {
                    if (!subscription.Carried)
                        after = after < 0 ? subscription.After : Math.Min(after, subscription.After);
                }
                // Everyone is complete up to where this stream starts, not further, until it says so.
                _resume = after;
            }
            if (current.Length == 0)
            {
                await setChanged.WaitAsync(stop).ConfigureAwait(false);
                continue;
            }
            var withData = _client.Options.StreamData && !DataUnsupported;
            foreach (var subscription in current)
            {
                subscription.Carried = true;
                subscription.Reconnected(withData);
            }
            // Records and progress marks go to the subscribers this stream carries, not to those that
            // joined since: it does not carry their watches, so it cannot tell them they are complete.
            var carried = current;
            var watches = current.Select(s => s.Watch).Distinct().ToList();
            try
            {
                Connections++;
                await foreach (var record in _client.StreamWatchAsync(watches, Math.Max(0, after), withData, connection.Token).ConfigureAwait(false))
                {
                    // Safe to reopen after: a change index means all before it were sent (its own may be half sent).
                    var resume = record.Type == WatchStreamRecord.Progress ? record.Index : record.Index - 1;
                    lock (_gate)
                    {
                        _resume = Math.Max(_resume, resume);
                        // Copied when it changed, not per record.
                        if (version != _version)
                        {
                            current = [.. _subscriptions];
                            version = _version;
                        }
                    }
                    if (record.Type == WatchStreamRecord.Progress)
                    {
                        if (withData)
                        {
                            foreach (var subscription in carried)
                                subscription.Complete(record.Index);
                        }
                        continue;
                    }
                    RecordRead?.Invoke(record);
                    if (withData)
                    {
                        foreach (var subscription in carried)
                            subscription.Deliver(record);
                        continue;
                    }
                    foreach (var subscription in current)
                    {
                        if (subscription.Watch.Covers(record))
                            subscription.Notify(record.Index);
                    }
                }
            }
            catch (RegistryException e) when (withData && RegistryClient.IsDataRefused(e) && !stop.IsCancellationRequested)
            {
                // An older registry: stream without the data from now on (the subscribers read every change).
                Volatile.Write(ref _dataUnsupported, 1);
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                // The set of watches changed: reopen with it.
            }
            catch (RegistryException e) when (e.Code == RegistryErrorCodes.IndexCompacted && !stop.IsCancellationRequested)
            {
                // Nobody keeps the changes since we were last here: everyone re-reads, and the stream starts from now.
                await RestartFromNowAsync(current, stop).ConfigureAwait(false);
            }
            catch (RegistryException e) when (!stop.IsCancellationRequested)
            {
                // Refused (not found on an older registry, a bad path, too many watches): the subscribers hear why.
                if (e.Code == RegistryErrorCodes.NotFound)
                    Volatile.Write(ref _unsupported, 1);
                lock (_gate)
                {
                    foreach (var subscription in current)
                        _subscriptions.Remove(subscription);
                }
                foreach (var subscription in current)
                    subscription.Fail(e);
            }
            catch (Exception) when (!stop.IsCancellationRequested)
            {
                // A failure nobody foresaw (the stream's connection broke in some other way): this
                // loop carries every watch of the process, so it must not end; reopen from where it was.
                await Task.Delay(TimeSpan.FromMilliseconds(250), stop).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                    _connection = null;
            }
        }
    }

    private async Task RestartFromNowAsync(Subscription[] current, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                var now = await _client.CurrentIndexAsync(cancellationToken: stop).ConfigureAwait(false);
                lock (_gate)
                    _resume = now;
                break;
            }
            catch (RegistryException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), stop).ConfigureAwait(false);
            }
        }
        foreach (var subscription in current)
            subscription.AskReread();
    }

    /// <summary>Stops the stream; subscribers still waiting are cancelled with it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
                return;
            _stop.Cancel();
        }
    }

    /// <summary>
    /// One subscriber's view: the latest index at which something it watches changed that it must
    /// read, and (on a <c>data=true</c> stream) the records it may apply instead, each once.
    /// </summary>
    internal sealed class Subscription(RegistryWatcher owner, StreamWatch watch, long after) : IDisposable
    {
        /// <summary>Told to read again whatever the index (the history it needed is gone).</summary>
        public const long Reread = long.MaxValue;

        private readonly Lock _gate = new();
        private readonly List<WatchStreamRecord> _records = [];
        private readonly StreamResume _resume = new(after);
        private long _changedAt = after;
        private Exception? _failure;
        private TaskCompletionSource? _signal;

        public StreamWatch Watch { get; } = watch;

        public long After { get; } = after;

        /// <summary>Set once a stream that carries this watch from <see cref="After"/> was opened.</summary>
        public bool Carried { get; set; }

        public void Notify(long index) => Signal(() => _changedAt = Math.Max(_changedAt, index));

        public void AskReread() => Signal(() => _changedAt = Reread);

        /// <summary>
        /// A stream carrying this watch opens: on a <c>data=true</c> one, the records of the index
        /// the last one left half-delivered come again and are skipped (the same order on every node).
        /// </summary>
        public void Reconnected(bool withData)
        {
            if (withData)
            {
                lock (_gate)
                    _resume.Reconnected();
            }
        }

        /// <summary>
        /// A record of a <c>data=true</c> stream: kept until its index is complete when it says all
        /// there is to the change (<see cref="WatchStreamRecord.IsWhole"/>), else a read at its index.
        /// </summary>
        public void Deliver(WatchStreamRecord record)
        {
            if (!record.IsChange && record.Type != WatchStreamRecord.TrustBundle)
                return;
            // Static callbacks with their state: every record reaches every subscription of the stream.
            WakeIf(record, static (self, record) =>
            {
                if (!self.Watch.Covers(record))
                {
                    // Not this watch's, but every record before its index was sent.
                    self._resume.Sent(record.Index - 1);
                    return self.HasCompleteRecords;
                }
                // Counted per watch: a stream reopened with other watches sends this watch's records of
                // a half-delivered index again in the same order, whatever else it carries.
                if (!self._resume.Take(record))
                    return false;
                if (!record.IsWhole)
                {
                    self._changedAt = Math.Max(self._changedAt, record.Index);
                    return true;
                }
                self._records.Add(record);
                return self.HasCompleteRecords;
            });
        }

        /// <summary>The stream sent every record up to <paramref name="index"/> (a progress mark of a <c>data=true</c> stream).</summary>
        public void Complete(long index) => WakeIf(index, static (self, index) =>
        {
            self._resume.Sent(index);
            return self.HasCompleteRecords;
        });

        // Under _gate. The consumer is woken only when it has something to do: every progress mark
        // reaches every subscription of the stream, most of which have no record waiting.
        private bool HasCompleteRecords => _records.Count > 0 && _records[0].Index <= _resume.Complete;

        /// <summary>
        /// The read for a change <see cref="NextChangeAsync"/> handed out (<paramref name="at"/>)
        /// failed. A change index stays until a read reaches it; a re-read was handed out once and
        /// is asked again, or a re-read that failed (after a compacted history) would be forgotten
        /// and the changes it stood for never read.
        /// </summary>
        public void ReadFailed(long at)
        {
            if (at == Reread)
                AskReread();
        }

        public void Fail(Exception failure) => Signal(() => _failure = failure);

        /// <summary>
        /// The next change after <paramref name="after"/> (the index of the subscriber's snapshot):
        /// a read at <see cref="StreamChange.At"/> (or <see cref="Reread"/>), or, when every change
        /// since is in whole records of complete indexes, those records; throws what the registry refused.
        /// </summary>
        public async Task<StreamChange> NextChangeAsync(long after, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task wait;
                lock (_gate)
                {
                    if (_failure is not null)
                        throw _failure;
                    // What the snapshot already has (it was read at or after their index).
                    _records.RemoveAll(r => r.Index <= after);
                    if (_changedAt > after)
                    {
                        var at = _changedAt;
                        if (at == Reread)
                            _changedAt = after;
                        return new StreamChange(at, null);
                    }
                    if (HasCompleteRecords)
                    {
                        var complete = _resume.Complete;
                        var end = _records.FindIndex(r => r.Index > complete);
                        var taken = _records.GetRange(0, end < 0 ? _records.Count : end);
                        _records.RemoveRange(0, taken.Count);
                        return new StreamChange(complete, taken);
                    }
                    _signal ??= new(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _signal.Task;
                }
                using var stopped = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, owner._stop.Token);
                await wait.WaitAsync(stopped.Token).ConfigureAwait(false);
            }
        }

        public void Dispose() => owner.Remove(this);

        private void Signal(Action change) => WakeIf(change, static (_, change) =>
        {
            change();
            return true;
        });

        private void WakeIf<TState>(TState state, Func<Subscription, TState, bool> change)
        {
            TaskCompletionSource? signal;
            lock (_gate)
            {
                if (!change(this, state))
                    return;
                signal = _signal;
                _signal = null;
            }
            signal?.TrySetResult();
        }
    }
}

/// <summary>
/// What a subscriber does next: read the state at <see cref="At"/> (<see cref="Records"/> null),
/// or apply <see cref="Records"/>, every change it watches up to <see cref="At"/>, in order.
/// </summary>
internal readonly record struct StreamChange(long At, IReadOnlyList<WatchStreamRecord>? Records);
