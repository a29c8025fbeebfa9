using System.CommandLine;
using Mesh.Cli.Commands;

// `mesh-sidecar --config sidecar.yaml [--check]`: the same as `mesh sidecar`, in a binary that
// holds nothing but the sidecar, so it can be compiled ahead of time (Native AOT). Ctrl+C and
// SIGTERM drain and stop it, as for `mesh sidecar`.
// Five seconds after it listens, the pages of this executable that only start-up used are
// released (StartupPages): what stays resident is what serving traffic touches.
Mesh.Sidecar.Hosting.SidecarProcessSettings.Apply();
var root = SidecarCommand.Configure(new RootCommand(SidecarCommand.Description),
    started: () => Mesh.Sidecar.Hosting.StartupPages.ReleaseAfter(TimeSpan.FromSeconds(5)));
return await root.Parse(args).InvokeAsync(new InvocationConfiguration
{
    ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
});
