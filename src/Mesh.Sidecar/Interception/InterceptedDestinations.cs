// Which mesh service an intercepted connection was meant for, from its original destination:
// a configured virtual address (exact ip:port, then ip, then :port), else the address of a
// known instance (the app called a pod address directly). Null: not a mesh destination.
using System.Net;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Discovery;

namespace Mesh.Sidecar.Interception;

internal sealed class InterceptedDestinations(IReadOnlyList<VirtualAddress> virtualAddresses, Func<IEnumerable<(string Service, IEnumerable<MeshEndpoint> Endpoints)>> knownEndpoints)
{
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
        foreach (var (service, endpoints) in knownEndpoints())
        {
            if (endpoints.Any(e => string.Equals(e.Address, address, StringComparison.OrdinalIgnoreCase)))
                return service;
        }
        return null;
    }
}
