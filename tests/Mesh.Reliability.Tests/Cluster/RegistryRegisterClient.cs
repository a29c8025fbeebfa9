using System.Text;
using Mesh.Registry.Client;
using Mesh.Reliability.Tests.Recording;
using Mesh.Reliability.Tests.Workload;

namespace Mesh.Reliability.Tests.Cluster;

/// <summary>
/// <see cref="IRegisterClient"/> over a real <see cref="RegistryClient"/>: key <c>k</c> is node
/// <c>{root}/k</c>. Read = linearizable GET; Write = set with version -1; CAS = set with the
/// expected version; Create = create (persistent; the parent exists); Delete = delete with
/// version -1. Definite answers: NoNode → Absent (read, write, delete) or Failed (CAS),
/// BadVersion → Failed, NodeExists → Exists.
///
/// Everything else is <em>unknown</em>, never "certainly not applied": a timeout, a reset, 504,
/// <see cref="RegistryUnavailableException"/> (the client gave up after retrying), and also 503,
/// because a follower that forwarded the write may answer 503 after the leader appended it and
/// then lost leadership — the entry can still be committed by the next leader. The client retries
/// one logical operation with the same idempotency id (Mesh-Client-Id + Mesh-Request-Seq), so a
/// retried write is applied at most once; each operation is bounded by
/// <see cref="OperationDeadline"/> on top of the client's own request timeout.
/// </summary>
/// <param name="applied">Called with the registry index of every acknowledged change (for the watch check).</param>
internal sealed class RegistryRegisterClient(RegistryClient client, string root, Action<long>? applied = null) : IRegisterClient, IDisposable
{
    public static readonly TimeSpan OperationDeadline = TimeSpan.FromSeconds(4);

    public static RegistryClient NewClient(IReadOnlyList<Uri> endpoints, int rotate = 0) =>
        new(new RegistryClientOptions
        {
            // Start each client at a different node, so the load (and the faults it meets) spread.
            Endpoints = [.. endpoints.Skip(rotate % endpoints.Count), .. endpoints.Take(rotate % endpoints.Count)],
            RequestTimeout = TimeSpan.FromSeconds(2.5),
        });

    private string PathOf(string key) => $"{root}/{key}";

    public Task<RegisterResult> ReadAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(async token =>
        {
            var node = await client.GetAsync(PathOf(key), cancellationToken: token);
            return RegisterResult.Saw(Encoding.UTF8.GetString(node.Data), node.Stat.Version);
        }, RegistryErrorCodes.NoNode, RegisterResult.Absent, cancellationToken);

    public Task<RegisterResult> WriteAsync(string key, string value, CancellationToken cancellationToken) =>
        RunAsync(async token =>
        {
            var result = await client.SetAsync(PathOf(key), value, -1, token);
            applied?.Invoke(result.Index);
            return RegisterResult.Ok(result.Stat?.Version);
        }, RegistryErrorCodes.NoNode, RegisterResult.Absent, cancellationToken);

    public async Task<RegisterResult> CompareAndSetAsync(string key, long expectedVersion, string value, CancellationToken cancellationToken)
    {
        var result = await RunAsync(async token =>
        {
            var written = await client.SetAsync(PathOf(key), value, expectedVersion, token);
            applied?.Invoke(written.Index);
            return RegisterResult.Ok(written.Stat?.Version);
        }, RegistryErrorCodes.BadVersion, RegisterResult.Failed, cancellationToken, alsoNoNode: RegisterResult.Failed);
        return result;
    }

    public Task<RegisterResult> CreateAsync(string key, string value, CancellationToken cancellationToken) =>
        RunAsync(async token =>
        {
            var created = await client.CreateAsync(PathOf(key), Encoding.UTF8.GetBytes(value), cancellationToken: token);
            applied?.Invoke(created.Index);
            return RegisterResult.Ok(created.Stat?.Version ?? 0);
        }, RegistryErrorCodes.NodeExists, RegisterResult.Exists, cancellationToken);

    public Task<RegisterResult> DeleteAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(async token =>
        {
            applied?.Invoke(await client.DeleteAsync(PathOf(key), -1, cancellationToken: token));
            return RegisterResult.Ok();
        }, RegistryErrorCodes.NoNode, RegisterResult.Absent, cancellationToken);

    private static async Task<RegisterResult> RunAsync(
        Func<CancellationToken, Task<RegisterResult>> call, string definiteCode, RegisterResult definiteResult,
        CancellationToken cancellationToken, RegisterResult? alsoNoNode = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(OperationDeadline);
        try
        {
            return await call(deadline.Token);
        }
        catch (RegistryException e) when (e.Code == definiteCode && e is not RegistryUnavailableException)
        {
            return definiteResult;
        }
        catch (RegistryException e) when (alsoNoNode is not null && e.Code == RegistryErrorCodes.NoNode)
        {
            return alsoNoNode;
        }
        catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException or IOException)
        {
            // Timeout, reset, 503/504, gave up, or an unexpected code (e.g. StaleRequest): the
            // request may have been applied, or may still be.
            throw new TimeoutException($"outcome unknown: {e.GetType().Name}: {e.Message}", e);
        }
    }

    public void Dispose() => client.Dispose();
}
