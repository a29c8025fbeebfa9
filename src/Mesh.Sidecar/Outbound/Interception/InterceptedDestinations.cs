// Which mesh service an intercepted connection was meant for, from its original destination:
// a configured virtual address (exact ip:port, then ip, then :port), else a known instance's
// address and app port (the app called a pod address directly; other ports of that address are
// not the service's). Null: not a mesh destination.
using System.Net;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Discovery;

namespace Mesh.Sidecar.Outbound.Interception;

internal sealed class InterceptedDestinations(IReadOnlyList<VirtualAddress> virtualAddresses, Func<IEnumerable<(string Service, IEnumerable<MeshEndpoint> Endpoints)>> knownEndpoints)
{
    /// <summary>The instance label with the app's port, set by the registering sidecar from app.address.</summary>
    public const string AppPortLabel = "appPort";

    public IEnumerable<string> VirtualServices => virtualAddresses.Select(v => v.Service).Distinct(StringComparer.Ordinal);

    public string? ServiceFor(IPEndPoint destination)
    {
        VirtualAddress? byAddress = null, byPort = null;
        foreach (var candidate in virtualAddresses)
        {
            var addressMatches = candidate.Address is null || candidate.Address.Equals(destination.Address);
            var portMatches = candidate.Port is null || candidate.Port == destination.Port;
            if (!addressMatches || !portMatches)
                continue;
            if (candidate.Address is not null && candidate.Port is not null)
                return candidate.Service;
            if (candidate.Address is not null)
                byAddress ??= candidate;
            else
                byPort ??= candidate;
        }
        if ((byAddress ?? byPort) is { } match)
            return match.Service;

        var address = destination.Address.ToString();
        var port = destination.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (service, endpoints) in knownEndpoints())
        {
            if (endpoints.Any(e => string.Equals(e.Address, address, StringComparison.OrdinalIgnoreCase)
                                   && e.Labels.TryGetValue(AppPortLabel, out var appPort) && appPort == port))
            {
                return service;
            }
        }
        return null;
    }
}
