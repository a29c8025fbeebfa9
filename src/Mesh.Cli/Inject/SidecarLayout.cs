namespace Mesh.Cli.Inject;

/// <summary>Where the sidecar container goes in the pod.</summary>
internal enum SidecarLayout
{
    /// <summary>
    /// An init container with <c>restartPolicy: Always</c> (Kubernetes 1.29+): started before the
    /// app containers, which wait for its startup probe, and stopped once they have exited, so a
    /// Job's pod completes.
    /// </summary>
    Native,

    /// <summary>One more container beside the app's, for clusters older than 1.29.</summary>
    Classic,
}

internal static class SidecarLayouts
{
    /// <summary>The pod annotation that picks the layout for one workload, over the command's default.</summary>
    public const string Annotation = "mesh.dev/sidecar-layout";

    public static bool TryParse(string? text, out SidecarLayout layout)
    {
        switch (text)
        {
            case "native":
                layout = SidecarLayout.Native;
                return true;
            case "classic":
                layout = SidecarLayout.Classic;
                return true;
            default:
                layout = default;
                return false;
        }
    }

    public static string Name(SidecarLayout layout) => layout == SidecarLayout.Classic ? "classic" : "native";
}
