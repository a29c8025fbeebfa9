using System.Diagnostics;
using Mesh.Samples.Shop;

namespace Mesh.Demo;

/// <summary>
/// Sends a steady rate of requests to the frontend app (as its users would), recording what came
/// back and which catalog version served each one (the <c>x-shop-version</c> header), which is
/// how the observed canary split is measured.
/// </summary>
internal sealed class TrafficDriver(Uri frontend, int ratePerSecond)
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 64 })
    {
        BaseAddress = frontend,
        Timeout = TimeSpan.FromSeconds(10),
    };
    private long _v1, _v2;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);

    /// <summary>Failed requests (not 429s) by what they got back (status and the body's first words).</summary>
    public IReadOnlyDictionary<string, long> Errors => _errors;

    public HopStats Stats { get; } = new("driver");

    public long CatalogV1 => Interlocked.Read(ref _v1);

    public long CatalogV2 => Interlocked.Read(ref _v2);

    /// <summary>Sends requests at the configured rate until cancelled (each bounded by the client timeout).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(1.0 / ratePerSecond);
        var inFlight = new List<Task>();
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var due = interval * sent;
            if (clock.Elapsed < due)
            {
                try
                {
                    await Task.Delay(due - clock.Elapsed, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            inFlight.Add(SendOneAsync());
            sent++;
            inFlight.RemoveAll(t => t.IsCompleted);
        }

        await Task.WhenAll(inFlight);
    }

    private async Task SendOneAsync()
    {
        var started = Stopwatch.GetTimestamp();
        var status = 599;
        try
        {
            using var response = await _http.GetAsync("/");
            status = (int)response.StatusCode;
            var version = response.Headers.TryGetValues(ShopApp.VersionHeader, out var v) ? v.FirstOrDefault() : null;
            // A 429 is the route's rate limit doing its job: the hop counts it apart, not as an error.
            if (!response.IsSuccessStatusCode && status != 429)
            {
                var body = await response.Content.ReadAsStringAsync();
                _errors.AddOrUpdate($"{status} {body[..Math.Min(body.Length, 80)]}", 1, (_, n) => n + 1);
            }

            if (response.IsSuccessStatusCode && version == "v1")
                Interlocked.Increment(ref _v1);
            else if (response.IsSuccessStatusCode && version == "v2")
                Interlocked.Increment(ref _v2);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            _errors.AddOrUpdate(ex.GetType().Name, 1, (_, n) => n + 1);
        }

        Stats.Record(status, Stopwatch.GetElapsedTime(started));
    }
}
