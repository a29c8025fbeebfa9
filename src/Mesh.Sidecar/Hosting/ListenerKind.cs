// The sidecar's three listeners. Each is configured, bound and dispatched to by its kind; the
// name is the `direction` label of connection-level telemetry.
namespace Mesh.Sidecar.Hosting;

internal enum ListenerKind
{
    /// <summary>The local app's calls out (127.0.0.1:15001 by default).</summary>
    Outbound,

    /// <summary>Remote sidecars' calls in, mTLS when `tls:` is on.</summary>
    Inbound,

    /// <summary>Health, readiness, metrics and the config dump.</summary>
    Admin,
}

internal static class ListenerKinds
{
    public static readonly ListenerKind[] All = [ListenerKind.Outbound, ListenerKind.Inbound, ListenerKind.Admin];

    public static string Name(this ListenerKind kind) => kind switch
    {
        ListenerKind.Outbound => "outbound",
        ListenerKind.Inbound => "inbound",
        _ => "admin",
    };

    public static Configuration.ListenerConfig Config(this Configuration.ListenersConfig listeners, ListenerKind kind) => kind switch
    {
        ListenerKind.Outbound => listeners.Outbound,
        ListenerKind.Inbound => listeners.Inbound,
        _ => listeners.Admin,
    };
}
