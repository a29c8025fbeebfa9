// Processes for wrk load tests on loopback: a sidecar from a YAML file, and a minimal upstream
// that answers every request with 100 bytes. Both stop on Ctrl+C or SIGTERM.
using System.Runtime.InteropServices;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Benchmarks;

internal static class LoadTestProcesses
{
    public static async Task RunSidecarAsync(string file)
    {
        using var stop = StopOnSignal();
        await SidecarHost.RunAsync(SidecarConfigLoader.LoadFile(file), stop.Token, new SidecarHostOptions { ConfigureLogging = _ => { } });
    }

    public static async Task RunUpstreamAsync(int port)
    {
        using var stop = StopOnSignal();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        var app = builder.Build();
        var body = new byte[100];
        Array.Fill(body, (byte)'x');
        app.Run(context =>
        {
            context.Response.ContentLength = body.Length;
            return context.Response.Body.WriteAsync(body).AsTask();
        });
        await app.StartAsync(stop.Token);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None);
    }

    private static CancellationTokenSource StopOnSignal()
    {
        // The host's console lifetime swallows SIGINT/SIGTERM, so listen for them directly.
        var stop = new CancellationTokenSource();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            Registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            }));
        }
        return stop;
    }

    private static readonly List<PosixSignalRegistration> Registrations = [];
}
