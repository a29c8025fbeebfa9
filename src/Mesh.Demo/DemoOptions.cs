namespace Mesh.Demo;

/// <summary>How <c>mesh demo</c> runs.</summary>
public sealed record DemoOptions
{
    /// <summary>Run this long, print a summary and exit; null runs until Ctrl+C.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Kill the registry leader and a catalog instance mid-run.</summary>
    public bool Chaos { get; init; }

    /// <summary>Requests per second the traffic driver sends to the frontend.</summary>
    public int Rate { get; init; } = 50;

    /// <summary>Force plain text output (no live table), e.g. when output is not a terminal.</summary>
    public bool Plain { get; init; }
}
