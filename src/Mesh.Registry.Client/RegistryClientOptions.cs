namespace Mesh.Registry.Client;

/// <summary>Where the registry is and how long to wait for it.</summary>
public sealed record RegistryClientOptions
{
    /// <summary>Client addresses of registry nodes (e.g. http://127.0.0.1:7001); any node serves any request.</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    /// <summary>How long one logical request may take across all retries and failovers.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Give up at once when every address refuses the connection, instead of retrying until
    /// <see cref="RequestTimeout"/>: for a person at a command line, where nothing listening is
    /// an answer. Timeouts and elections are still waited out. Off for sidecars, which must ride
    /// out a registry restart.
    /// </summary>
    public bool FailFastWhenRefused { get; init; }

    /// <summary>How long a watch blocks on the server before answering with no change.</summary>
    public TimeSpan WatchWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Watch endpoints, routes, policies and the trust bundle over one streaming watch per client
    /// (<c>GET /v1/watch-stream</c>) instead of a long poll per watched thing. A registry without
    /// streaming watches is long-polled as before.
    /// </summary>
    public bool StreamWatches { get; init; } = true;

    /// <summary>
    /// Ask the streaming watch for the data of small nodes (<c>data=true</c>): a change to an
    /// instance, the owner record or a config document then updates the snapshot without a read.
    /// A registry without it is asked without, and its records are followed by a read as before.
    /// </summary>
    public bool StreamData { get; init; } = true;

    /// <summary>A streaming watch that says nothing (not even a progress mark) for this long is taken for dead and resumed on another node.</summary>
    public TimeSpan WatchStreamIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Sent as <c>Authorization: Bearer TOKEN</c> on every request: an operator token or a join token. Null: none.</summary>
    public string? Token { get; init; }

    /// <summary>Roots the registry's TLS certificate must chain to (https addresses); empty = the system's trusted roots.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection TrustedRoots { get; init; } = [];

    /// <summary>The clock of the client's waits between retries (tests script it).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Parses a comma-separated address list such as <c>http://127.0.0.1:7001,http://127.0.0.1:7002</c>.</summary>
    public static RegistryClientOptions Parse(string addresses)
    {
        var endpoints = new List<Uri>();
        foreach (var part in addresses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var text = part.Contains("://", StringComparison.Ordinal) ? part : "http://" + part;
            if (!Uri.TryCreate(text.EndsWith('/') ? text : text + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new ArgumentException($"'{part}' is not a registry address (expected http://host:port or https://host:port)");
            endpoints.Add(uri);
        }

        if (endpoints.Count == 0)
            throw new ArgumentException("no registry address given");
        return new RegistryClientOptions { Endpoints = endpoints };
    }
}
