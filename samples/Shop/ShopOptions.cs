namespace Mesh.Samples.Shop;

/// <summary>Which Shop service to run and how to reach the mesh.</summary>
public sealed record ShopOptions
{
    /// <summary><c>frontend</c>, <c>catalog</c> or <c>inventory</c>.</summary>
    public required string Service { get; init; }

    /// <summary>The version this instance reports (catalog v2 is the slower, flakier canary).</summary>
    public string Version { get; init; } = "v1";

    /// <summary>Where the app listens, e.g. http://127.0.0.1:8080 (port 0 picks a free one).</summary>
    public string Url { get; init; } = "http://127.0.0.1:8080";

    /// <summary>The local sidecar's outbound listener; downstream calls go through it with the service as Host.</summary>
    public string Outbound { get; init; } = Environment.GetEnvironmentVariable("MESH_OUTBOUND") ?? "http://127.0.0.1:15001";

    /// <summary>
    /// Overrides <see cref="Outbound"/>, read at the first downstream call: for a host (the demo)
    /// that starts the app on port 0 first and its sidecar, which needs the app's address, after.
    /// </summary>
    public Func<string>? OutboundSource { get; init; }

    /// <summary>Fraction of requests catalog v2 fails with 503 (0..1).</summary>
    public double FailureRate { get; init; } = 0.05;

    /// <summary>Extra latency of catalog v2.</summary>
    public TimeSpan ExtraLatency { get; init; } = TimeSpan.FromMilliseconds(15);

    /// <summary>
    /// False when the app runs inside another program (the demo): then Ctrl+C and SIGTERM are
    /// left to that program instead of stopping this app on their own.
    /// </summary>
    public bool OwnsProcessSignals { get; init; } = true;

    /// <summary>Told of every request this app served: status and time taken (the demo's live view uses it).</summary>
    public Action<int, TimeSpan>? OnRequest { get; init; }

    public static ShopOptions FromArgs(string[] args)
    {
        string? Get(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        var service = Get("--service") ?? Environment.GetEnvironmentVariable("SHOP_SERVICE")
            ?? throw new ArgumentException("--service frontend|catalog|inventory is required");
        if (service is not ("frontend" or "catalog" or "inventory"))
            throw new ArgumentException($"--service: '{service}' is not one of frontend, catalog, inventory");
        return new ShopOptions
        {
            Service = service,
            Version = Get("--version") ?? Environment.GetEnvironmentVariable("SHOP_VERSION") ?? "v1",
            Url = Get("--urls") ?? Environment.GetEnvironmentVariable("SHOP_URL") ?? "http://127.0.0.1:8080",
            Outbound = Get("--outbound") ?? Environment.GetEnvironmentVariable("MESH_OUTBOUND") ?? "http://127.0.0.1:15001",
        };
    }
}
