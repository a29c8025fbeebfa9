using System.CommandLine;
using Mesh.Dashboard.Metrics;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Cli.Tests.Top;

public sealed class TopCommandTests
{
    [Fact]
    public async Task TopOnce_RealSidecarUnderTraffic_PrintsServiceWithRateSuccessAndP99()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.Run(context =>
        {
            context.Response.StatusCode = context.Request.Path.StartsWithSegments("/fail") ? 500 : 200;
            return Task.CompletedTask;
        });
        await app.StartAsync();
        var appPort = new Uri(app.Urls.First()).Port;
        var config = SidecarConfigLoader.Parse($$"""
            service: { name: top-caller }
            listeners: { outbound: 127.0.0.1:0, inbound: 127.0.0.1:0, admin: 127.0.0.1:0 }
            endpoints:
              top-catalog:
                - { id: a, address: 127.0.0.1, port: {{appPort}} }
            """);
        await using var sidecar = new SidecarHost(config, new SidecarHostOptions { ConfigureLogging = _ => { } });
        await sidecar.StartAsync(CancellationToken.None);
        using var client = new HttpClient { BaseAddress = sidecar.OutboundUrl, DefaultRequestHeaders = { Host = "top-catalog" } };
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var traffic = Task.Run(async () =>
        {
            // Bounded: stops with the table or after 20 s, at most 20,000 requests.
            for (var i = 0; i < 20_000 && !stop.IsCancellationRequested; i++)
                await client.GetAsync(i % 10 == 0 ? "/fail" : "/ok", stop.Token);
        });

        var output = new StringWriter();
        var exitCode = await MeshCommandLine.Build()
            .Parse(["top", "--sidecar", sidecar.AdminUrl.ToString(), "--once", "--interval", "1s"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = new StringWriter() });
        await stop.CancelAsync();
        await traffic.ContinueWith(_ => { });

        Assert.Equal(0, exitCode);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("SERVICE", lines[0], StringComparison.Ordinal);
        var row = Assert.Single(lines, l => l.StartsWith("top-catalog", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(double.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture) > 1, output.ToString());
        // One sequential client over a 1 s window: on a loaded machine the window may hold only a
        // few requests, so the live rate is coarse. It must show both outcomes; the arithmetic of
        // the rate is checked exactly by Compute_TwoScrapes_GivesRateSuccessAndInterpolatedQuantiles.
        Assert.InRange(double.Parse(row[2].TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture), 50, 99.9);
        Assert.True(double.Parse(row[4], System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Top_OutputNotATerminal_AppendsPlainTables_WithoutScreenEscapes()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        await using var app = builder.Build();
        var scrapes = 0;
        app.Run(context =>
        {
            // A counter that grows by 10 per scrape: a steady rate, whatever the timing.
            var total = 10 * Interlocked.Increment(ref scrapes);
            return context.Response.WriteAsync($"{TopTable.Count}{{destination_service=\"shop\",status_class=\"2xx\"}} {total}\n");
        });
        await app.StartAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var output = new CancelAfterWrites(2, stop);

        var exitCode = await MeshCommandLine.Build()
            .Parse(["top", "--sidecar", app.Urls.First(), "--interval", "100ms"])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = new StringWriter() }, stop.Token);

        Assert.Equal(0, exitCode);
        var text = output.ToString();
        Assert.DoesNotContain('\u001b', text);
        var headings = text.Split('\n').Where(l => l.StartsWith("mesh top", StringComparison.Ordinal)).ToArray();
        Assert.True(headings.Length >= 2, text);
        Assert.All(headings, h => Assert.EndsWith("every 0.1s", h));
        Assert.True(text.Split('\n').Count(l => l.StartsWith("shop", StringComparison.Ordinal)) >= 2, text);
    }

    /// <summary>A writer that cancels <paramref name="stop"/> once it has been written to <paramref name="writes"/> times.</summary>
    private sealed class CancelAfterWrites(int writes, CancellationTokenSource stop) : StringWriter
    {
        private int _writes;

        public override Task WriteAsync(string? value)
        {
            base.Write(value);
            if (Interlocked.Increment(ref _writes) >= writes)
                stop.Cancel();
            return Task.CompletedTask;
        }
    }

    [Fact]
    public void Compute_TwoScrapes_GivesRateSuccessAndInterpolatedQuantiles()
    {
        static PrometheusSample S(string name, double value, params (string, string)[] labels) =>
            new(name, labels.ToDictionary(l => l.Item1, l => l.Item2), value);
        PrometheusSample[] before =
        [
            S(TopTable.Count, 100, ("destination_service", "a"), ("status_class", "2xx")),
        ];
        PrometheusSample[] after =
        [
            S(TopTable.Count, 190, ("destination_service", "a"), ("status_class", "2xx")),
            S(TopTable.Count, 10, ("destination_service", "a"), ("status_class", "5xx")),
            S(TopTable.Bucket, 50, ("destination_service", "a"), ("le", "0.001")),
            S(TopTable.Bucket, 100, ("destination_service", "a"), ("le", "0.002")),
            S(TopTable.Bucket, 100, ("destination_service", "a"), ("le", "+Inf")),
        ];

        var row = Assert.Single(TopTable.Compute(before, after, TimeSpan.FromSeconds(10)));

        Assert.Equal("a", row.Service);
        Assert.Equal(10, row.Rps, 3);
        Assert.Equal(0.9, row.SuccessRate!.Value, 3);
        Assert.Equal(0.001, row.P50!.Value, 6);
        Assert.Equal(0.00198, row.P99!.Value, 6);
    }
}
