using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Mesh.Registry.Client.Tests.Discovery;

/// <summary>
/// The requests the registry nodes in this process served while it listens, as "METHOD ROUTE",
/// from ASP.NET Core's <c>http.server.request.duration</c> (test classes run one at a time).
/// </summary>
internal sealed class ServerRequests : IDisposable
{
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly MeterListener _listener = new();

    public ServerRequests()
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Microsoft.AspNetCore.Hosting" && instrument.Name == "http.server.request.duration")
                l.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            string? route = null, method = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "http.route")
                    route = tag.Value as string;
                else if (tag.Key == "http.request.method")
                    method = tag.Value as string;
            }
            _requests.Enqueue($"{method} {route}");
        });
        _listener.Start();
    }

    /// <summary>The requests so far whose route contains <paramref name="part"/>.</summary>
    public List<string> To(string part) => [.. _requests.Where(r => r.Contains(part, StringComparison.Ordinal))];

    public void Dispose() => _listener.Dispose();
}
