using System.CommandLine;
using System.Net;
using Mesh.Dashboard;
using Microsoft.Extensions.Logging;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh dashboard</c>: the mesh's web page, served on this machine from what the registry and the sidecars' admin ports say.</summary>
internal static class DashboardCommand
{
    public const string DefaultListen = "127.0.0.1:15100";

    public static Command Create()
    {
        var registry = new Option<string>("--registry", "-r")
        {
            Description = "Registry address(es), comma-separated (default: $MESH_REGISTRY or http://127.0.0.1:7001).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MESH_REGISTRY") ?? "http://127.0.0.1:7001",
        };
        var listen = new Option<string>("--listen", "-l")
        {
            Description = $"Address the page is served on (default {DefaultListen}; port 0 picks a free one). Keep it on loopback: the page has no login.",
            DefaultValueFactory = _ => DefaultListen,
        };
        var scrapeNetworks = new Option<string>("--scrape-networks")
        {
            Description = $"Networks (CIDR, comma-separated) whose sidecars may be scraped; an instance registered at any other address is shown but not contacted (default: loopback and private ranges, {ScrapeNetworks.PrivateText}).",
            DefaultValueFactory = _ => ScrapeNetworks.PrivateText,
        };
        var command = new Command("dashboard", "Serve a live web dashboard of the mesh: topology, golden signals, endpoints, routes, rate limits, certificates, registry.") { registry, listen, scrapeNetworks };
        command.SetAction(async (result, cancellationToken) =>
        {
            var error = result.InvocationConfiguration.Error;
            var text = result.GetValue(listen)!;
            if (!IPEndPoint.TryParse(text, out var endPoint) || (endPoint.Port == 0 && !text.EndsWith(":0", StringComparison.Ordinal)))
            {
                error.WriteLine($"mesh dashboard: --listen: '{text}' is not an address:port (e.g. 127.0.0.1:15100)");
                return 2;
            }

            ScrapeNetworks networks;
            try
            {
                networks = ScrapeNetworks.Parse(result.GetValue(scrapeNetworks)!);
            }
            catch (FormatException e)
            {
                error.WriteLine($"mesh dashboard: --scrape-networks: {e.Message}");
                return 2;
            }

            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            await using var server = new DashboardServer(result.GetValue(registry)!, endPoint, loggers.CreateLogger("Mesh.Dashboard"), scrapeNetworks: networks);
            try
            {
                await server.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                error.WriteLine($"mesh dashboard: cannot listen on {text}: {e.Message}");
                return 1;
            }

            result.InvocationConfiguration.Output.WriteLine($"dashboard: {server.Url}   (Ctrl+C to stop)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        });
        return command;
    }
}
