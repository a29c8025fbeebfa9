// ASP.NET Core's hosting logs "Request starting/finished" for every request, and only for that
// makes an Activity and a logging scope per request: the sidecar turns the category off, at any
// log level the operator picks.
using System.Net;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.Hostile;
using Mesh.Sidecar.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Telemetry;

public sealed class HostingRequestLinesTests
{
    [Fact]
    public async Task Requests_AtTraceLevel_NoPerRequestHostingLines()
    {
        await using var app = await TestApp.NamedAsync("ok");
        var logs = new AllLogs();
        var config = TestSidecar.Config($$"""
            app: { address: "{{app.Url.ToString().TrimEnd('/')}}" }
            endpoints:
              hosting-lines:
            {{TestSidecar.Endpoint("a", app)}}
            """);
        await using var sidecar = await TestSidecar.StartAsync(config, new SidecarHostOptions { ConfigureLogging = l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Trace) });
        using var client = TestSidecar.Client(sidecar, "hosting-lines");
        using var inbound = new HttpClient { BaseAddress = sidecar.InboundUrl };

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/out")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await inbound.GetAsync("/in")).StatusCode);
        }

        Assert.NotEmpty(logs.Entries); // the provider does see the sidecar's other lines
        Assert.DoesNotContain(logs.Entries, e => e.Message.StartsWith(SidecarHost.HostingDiagnosticsCategory + ":", StringComparison.Ordinal));
    }
}
