namespace Mesh.Registry.Core.Sessions;

public static class SessionLimits
{
    /// <summary>Shortest session TTL; shorter requests are raised to it.</summary>
    public const long MinTtlMs = 1_000;

    /// <summary>Longest session TTL; longer requests are lowered to it.</summary>
    public const long MaxTtlMs = 600_000;

    public static long ClampTtl(long ttlMs) => Math.Clamp(ttlMs, MinTtlMs, MaxTtlMs);
}
