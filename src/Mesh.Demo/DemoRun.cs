using System.Diagnostics;
using Spectre.Console;

namespace Mesh.Demo;

/// <summary>
/// <c>mesh demo</c> from start to summary: brings the mesh up, drives traffic, shows it live,
/// injects the chaos it was asked for, and at the end (duration or Ctrl+C) prints a summary and
/// judges it: exit 0 only if traffic flowed through every hop.
/// </summary>
public sealed class DemoRun(DemoOptions options, IAnsiConsole console, TextWriter output)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await using var mesh = new DemoMesh();
        try
        {
            await mesh.StartAsync(line => output.WriteLine(line), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }

        PrintWhereThingsAre(mesh);
        // The web dashboard, on a free loopback port, reading the demo's registry like `mesh dashboard` would.
        await using var dashboard = new Mesh.Dashboard.DashboardServer(mesh.RegistryAddresses, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await dashboard.StartAsync(cancellationToken);
        output.WriteLine($"dashboard: {dashboard.Url}   (or: mesh dashboard -r {mesh.RegistryAddresses.Split(',')[0]})");
        var driver = new TrafficDriver(mesh.Frontend.AppUrl, options.Rate);
        var intruder = new TrafficDriver(mesh.Intruder.AppUrl, IntruderRate);
        var view = new DemoView(mesh, driver, console, options.Plain ? output : null);

        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.Duration is { } duration)
            run.CancelAfter(duration);
        var traffic = Task.WhenAll(driver.RunAsync(run.Token), intruder.RunAsync(run.Token));
        var chaos = options.Chaos ? ChaosAsync(mesh, view, options.Duration ?? TimeSpan.FromSeconds(30), run.Token) : Task.CompletedTask;
        var started = clock.Elapsed;
        await view.RunAsync(started, () => clock.Elapsed - started, run.Token);
        await Task.WhenAll(traffic, chaos);

        var summary = DemoSummary.From(mesh, driver, view);
        summary.Print(output);
        return cancellationToken.IsCancellationRequested && options.Duration is null ? 0 : summary.Passed ? 0 : 1;
    }

    /// <summary>Requests per second the intruder sends to catalog: enough to see the denials, too few to matter.</summary>
    private const int IntruderRate = 2;

    private void PrintWhereThingsAre(DemoMesh mesh)
    {
        output.WriteLine($"registry: {mesh.RegistryAddresses}   (try: mesh ctl -r {mesh.RegistryAddresses.Split(',')[0]} endpoints catalog)");
        output.WriteLine($"zookeeper: {mesh.ZooKeeperAddresses}   (try: zkCli.sh -server {mesh.ZooKeeperAddresses} ls /services)");
        foreach (var instance in mesh.Instances)
        {
            var admin = instance.Sidecar.Host.AdminUrl;
            output.WriteLine($"{instance.Name,-16} app {instance.AppUrl}  sidecar admin {admin}config_dump  {admin}metrics");
        }

        output.WriteLine($"traffic: {options.Rate} req/s to {mesh.Frontend.AppUrl}{(options.Duration is { } d ? $" for {d.TotalSeconds:0} s" : " until Ctrl+C")}{(options.Chaos ? ", with chaos" : "")}; "
            + $"{DemoMesh.IntruderService} calls catalog {IntruderRate} req/s, which catalog's policy denies");
    }

    /// <summary>
    /// A third of the way in the registry leader dies; two thirds in, a catalog v1 instance crashes
    /// (app and sidecar, never deregistered) and the registry drops it when its session expires.
    /// Each step prints an event line.
    /// </summary>
    private static async Task ChaosAsync(DemoMesh mesh, DemoView view, TimeSpan length, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(length / 3, cancellationToken);
            var killed = await mesh.KillRegistryLeaderAsync(cancellationToken);
            view.Event(killed is { } id
                ? $"chaos: killed registry leader (node {id}); traffic keeps flowing, a new leader takes over"
                : "chaos: no registry leader to kill (no leader for 5 s)");
            await Task.Delay(length / 3, cancellationToken);
            if (await mesh.KillCatalogInstanceAsync() is not { } victim)
                return;
            view.Event($"chaos: crashed {victim.Name} (app and sidecar, not deregistered); retries and outlier ejection route around it");
            view.Event(await mesh.WaitUntilUnlistedAsync(victim, TimeSpan.FromSeconds(20), cancellationToken)
                ? $"chaos: {victim.Name} left the registry when its session expired"
                : $"chaos: {victim.Name} is still listed in the registry 20 s after its crash");
        }
        catch (OperationCanceledException)
        {
        }
    }
}
