using System.Net;
using Mesh.Demo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Cli.Tests.Demo;

/// <summary>At <c>--rate 150</c> the frontend gets 429s from the catalog route's rate limit: the summary must not call them errors.</summary>
public sealed class DemoSummaryTests
{
    [Fact]
    public void Print_RateLimitedRequests_AreExplainedInTheResultLine_NotListedAsErrors()
    {
        var summary = new DemoSummary(
            [("driver", 1500, 1200, 0, 300, 0, 2.0, 9.0), ("catalog", 1200, 1200, 0, 0, 0, 1.0, 5.0)],
            90, 10, 0, new Dictionary<string, long>(), []);
        var output = new StringWriter();

        summary.Print(output);

        var text = output.ToString();
        Assert.DoesNotContain("frontend error", text);
        var result = Assert.Single(text.Split('\n'), l => l.TrimStart().StartsWith("result:", StringComparison.Ordinal));
        Assert.StartsWith("  result: OK", result);
        Assert.Contains("answered 300 request(s) with 429, as expected above its rate: not errors", result);
    }

    [Fact]
    public void Print_NoRateLimiting_SaysNothingAbout429()
    {
        var summary = new DemoSummary([("driver", 100, 100, 0, 0, 0, 2.0, 9.0)], 90, 10, 0, new Dictionary<string, long>(), []);
        var output = new StringWriter();

        summary.Print(output);

        Assert.DoesNotContain("with 429", output.ToString());
    }

    [Fact]
    public async Task TrafficDriver_A429_CountsAsRateLimited_NotAsAnError()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        var calls = 0;
        app.Run(context =>
        {
            // Alternate a rate-limit answer and a real failure.
            context.Response.StatusCode = Interlocked.Increment(ref calls) % 2 == 1 ? 429 : 500;
            return context.Response.WriteAsync("no");
        });
        await app.StartAsync();
        var driver = new TrafficDriver(new Uri(app.Urls.First()), 200);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var run = driver.RunAsync(stop.Token);
        while (driver.Stats.RateLimited == 0 || driver.Stats.Failed == 0)
            await Task.Delay(10, stop.Token);
        await stop.CancelAsync();
        await run;

        Assert.All(driver.Errors.Keys, key => Assert.StartsWith("500 ", key));
        Assert.Equal(driver.Stats.Failed, driver.Errors.Values.Sum());
    }
}
