using Mesh.Reliability.Tests.Recording;

namespace Mesh.Reliability.Tests.Workload;

/// <param name="Seed">Seeds each worker's choices (worker i uses Seed + i).</param>
/// <param name="Workers">Concurrent workers; each runs its operations one after another.</param>
/// <param name="OperationsPerWorker">Operations per worker (the run also stops when cancelled).</param>
/// <param name="Keys">The registers (the harness maps them to registry paths).</param>
internal sealed record WorkloadOptions(int Seed, int Workers, int OperationsPerWorker, IReadOnlyList<string> Keys);

/// <summary>
/// A random mix of reads, writes, CAS, creates and deletes over a few keys, from several
/// concurrent workers, recorded into a <see cref="HistoryRecorder"/>. Every written value is
/// unique ("w{worker}-{n}"), so a read names the write it saw. As in Jepsen, a worker whose
/// operation's outcome is unknown continues under a fresh client id, so each client id's
/// operations never overlap.
/// </summary>
internal static class RegisterWorkload
{
    public static Task RunAsync(Func<int, IRegisterClient> clients, HistoryRecorder recorder, WorkloadOptions options, CancellationToken cancellationToken = default) =>
        Task.WhenAll(Enumerable.Range(0, options.Workers).Select(worker =>
            Task.Run(() => WorkerAsync(worker, clients(worker), recorder, options, cancellationToken), cancellationToken)));

    private static async Task WorkerAsync(int worker, IRegisterClient client, HistoryRecorder recorder, WorkloadOptions options, CancellationToken cancellationToken)
    {
        var random = new Random(options.Seed + worker);
        var clientId = worker;
        var lastVersion = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var n = 0; n < options.OperationsPerWorker && !cancellationToken.IsCancellationRequested; n++)
        {
            var key = options.Keys[random.Next(options.Keys.Count)];
            var value = $"w{worker}-{n}";
            var request = random.Next(100) switch
            {
                < 40 => RegisterRequest.Read(key),
                < 60 => RegisterRequest.Write(key, value),
                // CAS from the last version this worker saw: sometimes current, sometimes stale.
                < 80 => RegisterRequest.Cas(key, lastVersion.GetValueOrDefault(key), value),
                < 93 => RegisterRequest.Create(key, value),
                _ => RegisterRequest.Delete(key),
            };
            var result = await client.RecordAsync(recorder, clientId, request, cancellationToken);
            if (result is null)
                clientId += options.Workers; // a new "process": the old one may still be in flight
            else if (result.Version is { } version)
                lastVersion[key] = version;
        }
    }
}
