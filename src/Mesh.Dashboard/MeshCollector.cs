// One look at the mesh, the dashboard's I/O edge: the registry's status and services (with their
// instances and owners), then every listed sidecar's /metrics and /config_dump. Every request is
// bounded: a timeout, a response size, no redirects, a cap on services and sidecars, a few at a
// time. A sidecar that fails is kept with its error, so the page can say which one and why.
using System.Text.Json;
using Mesh.Registry.Client;
using Mesh.Sidecar.Telemetry;

namespace Mesh.Dashboard;

internal sealed record SidecarScrape(string Service, ServiceInstance Instance, Uri? AdminUrl, IReadOnlyList<PrometheusSample> Samples, JsonElement? ConfigDump, string? Error);

internal sealed record MeshObservation(long Timestamp, DateTimeOffset At, JsonElement? Status, string? RegistryError, IReadOnlyList<EndpointSet> Services, IReadOnlyList<SidecarScrape> Sidecars);

internal sealed class MeshCollector(RegistryClient registry, TimeProvider time, ScrapeNetworks networks) : IDisposable
{
    public const int MaxServices = 200;
    public const int MaxSidecars = 500;
    public const int MaxMetricsBytes = 8 * 1024 * 1024;
    public const int MaxConfigDumpBytes = 2 * 1024 * 1024;
    public static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan RegistryTimeout = TimeSpan.FromSeconds(5);
    private const int Parallel = 8;

    private readonly HttpClient _metrics = Client(MaxMetricsBytes, networks);
    private readonly HttpClient _configDump = Client(MaxConfigDumpBytes, networks);

    private static HttpClient Client(int maxBytes, ScrapeNetworks networks) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = ScrapeTimeout,
        ConnectCallback = networks.ConnectAsync,
    })
    {
        Timeout = ScrapeTimeout,
        MaxResponseContentBufferSize = maxBytes,
    };

    public async Task<MeshObservation> CollectAsync(CancellationToken cancellationToken)
    {
        JsonElement? status = null;
        string? registryError = null;
        var services = new List<EndpointSet>();
        using (var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            bounded.CancelAfter(RegistryTimeout);
            try
            {
                status = JsonDocument.Parse(await registry.GetStatusJsonAsync(bounded.Token).ConfigureAwait(false)).RootElement.Clone();
                foreach (var name in (await registry.ListServicesAsync(bounded.Token).ConfigureAwait(false)).Order(StringComparer.Ordinal).Take(MaxServices))
                    services.Add(await registry.GetServiceAsync(name, cancellationToken: bounded.Token).ConfigureAwait(false));
            }
            catch (Exception e) when (e is RegistryException or HttpRequestException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                registryError = e is OperationCanceledException ? $"no answer within {RegistryTimeout.TotalSeconds:0} s" : e.Message;
            }
        }

        var instances = services.SelectMany(s => s.Instances.Select(i => (s.Service, Instance: i))).Take(MaxSidecars).ToList();
        using var gate = new SemaphoreSlim(Parallel);
        var scrapes = await Task.WhenAll(instances.Select(async target =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await ScrapeAsync(target.Service, target.Instance, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        return new MeshObservation(time.GetTimestamp(), time.GetUtcNow(), status, registryError, services, scrapes);
    }

    private async Task<SidecarScrape> ScrapeAsync(string service, ServiceInstance instance, CancellationToken cancellationToken)
    {
        if (SidecarTargets.AdminUrl(instance) is not { } admin)
            return new SidecarScrape(service, instance, null, [], null, "no admin port registered");
        try
        {
            var text = await _metrics.GetStringAsync(new Uri(admin, "metrics"), cancellationToken).ConfigureAwait(false);
            var samples = MetricsAggregator.Tag(PrometheusText.Parse(text), admin.ToString(), service).ToList();
            var dump = JsonDocument.Parse(await _configDump.GetStringAsync(new Uri(admin, "config_dump"), cancellationToken).ConfigureAwait(false)).RootElement.Clone();
            return new SidecarScrape(service, instance, admin, samples, dump, null);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var reason = e switch
            {
                TaskCanceledException => $"no answer within {ScrapeTimeout.TotalSeconds:0} s",
                HttpRequestException { StatusCode: { } code } => $"HTTP {(int)code}",
                JsonException => "config_dump is not JSON",
                HttpRequestException { InnerException: OutsideScrapeNetworksException outside } => outside.Message,
                _ => e.Message,
            };
            return new SidecarScrape(service, instance, admin, [], null, reason);
        }
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _configDump.Dispose();
    }
}
