// Reads a sidecar's (or registry node's) /metrics over real HTTP and looks samples up by name and labels.
using Mesh.Sidecar.Telemetry;

namespace Mesh.Sidecar.Tests.Telemetry;

internal sealed class Scrape(string text, List<PrometheusSample> samples)
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(15) };

    public string Text { get; } = text;

    public List<PrometheusSample> Samples { get; } = samples;

    public static async Task<Scrape> GetAsync(Uri baseUrl)
    {
        using var response = await Http.GetAsync(new Uri(baseUrl, "/metrics"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /metrics: {(int)response.StatusCode} {text}");
        return new Scrape(text, PrometheusText.Parse(text));
    }

    /// <summary>
    /// Scrapes until <paramref name="expectations"/> pass (what is recorded after the response
    /// went out may land a moment after the client saw it), and returns that scrape; when they never
    /// do, the test fails with the last failed assertion.
    /// </summary>
    public static Task<Scrape> ShowingAsync(Uri baseUrl, Action<Scrape> expectations) =>
        Eventually.ObjectAsync<Scrape>(async () =>
        {
            var scrape = await GetAsync(baseUrl);
            expectations(scrape);
            return scrape;
        }, "/metrics never showed what was expected", TimeSpan.FromSeconds(15));

    /// <summary>Sum of the samples named <paramref name="name"/> whose labels include every pair given.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels) =>
        Find(name, labels).Sum(s => s.Value);

    public IEnumerable<PrometheusSample> Find(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Label(l.Key) == l.Value));

    public bool Has(string name) => Samples.Any(s => s.Name == name);
}
