using Mesh.Reliability.Tests.Linearizability;
using Mesh.Reliability.Tests.Recording;

namespace Mesh.Reliability.Tests.Workload;

/// <summary>
/// The operations the workload drives, one register per key. The real-cluster harness implements
/// it over <c>RegistryClient</c> (Read = GetAsync, Write = SetAsync(version: -1), CAS =
/// SetAsync(version), Create = CreateAsync, Delete = DeleteAsync; NoNode → Absent, NodeExists →
/// Exists, BadVersion → Failed). A call that cannot tell whether it took effect (timeout, reset,
/// 504) throws <see cref="TimeoutException"/>; one that certainly did not (refused before
/// sending) throws <see cref="OperationRejectedException"/>. Any other exception counts as unknown.
/// </summary>
internal interface IRegisterClient
{
    Task<RegisterResult> ReadAsync(string key, CancellationToken cancellationToken);

    Task<RegisterResult> WriteAsync(string key, string value, CancellationToken cancellationToken);

    Task<RegisterResult> CompareAndSetAsync(string key, long expectedVersion, string value, CancellationToken cancellationToken);

    Task<RegisterResult> CreateAsync(string key, string value, CancellationToken cancellationToken);

    Task<RegisterResult> DeleteAsync(string key, CancellationToken cancellationToken);
}

/// <summary>The request certainly had no effect (e.g. no node could be reached to send it to).</summary>
internal sealed class OperationRejectedException(string message) : Exception(message);

internal static class RegisterClientExtensions
{
    public static Task<RegisterResult> ExecuteAsync(this IRegisterClient client, RegisterRequest request, CancellationToken cancellationToken) =>
        request.Kind switch
        {
            OpKind.Read => client.ReadAsync(request.Key, cancellationToken),
            OpKind.Write => client.WriteAsync(request.Key, request.Value!, cancellationToken),
            OpKind.CompareAndSet => client.CompareAndSetAsync(request.Key, request.ExpectedVersion!.Value, request.Value!, cancellationToken),
            OpKind.Create => client.CreateAsync(request.Key, request.Value!, cancellationToken),
            _ => client.DeleteAsync(request.Key, cancellationToken),
        };

    /// <summary>
    /// Runs <paramref name="request"/> and records it: invocation before, answer after. Returns
    /// the answer, or null when the outcome is unknown or the request was rejected.
    /// </summary>
    public static async Task<RegisterResult?> RecordAsync(this IRegisterClient client, HistoryRecorder recorder, int clientId, RegisterRequest request, CancellationToken cancellationToken)
    {
        var op = recorder.Invoke(clientId, request);
        try
        {
            var result = await client.ExecuteAsync(request, cancellationToken);
            recorder.Complete(op, result);
            return result;
        }
        catch (OperationRejectedException)
        {
            recorder.Fail(op);
            return null;
        }
        catch (Exception)
        {
            // Timeout, reset, cancellation mid-flight, anything: the request may have landed.
            recorder.TimedOut(op);
            return null;
        }
    }
}
