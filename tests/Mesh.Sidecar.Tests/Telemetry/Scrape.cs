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

    /// <summary>Sum of the samples named <paramref name="name"/> whose labels include every pair given.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels) =>
        Find(name, labels).Sum(s => s.Value);

    public IEnumerable<PrometheusSample> Find(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Label(l.Key) == l.Value));

    public bool Has(string name) => Samples.Any(s => s.Name == name);
}
