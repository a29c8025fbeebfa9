using System.CommandLine;
using Mesh.Cli.Commands;

// `mesh-sidecar --config sidecar.yaml [--check]`: the same as `mesh sidecar`, in a binary that
// holds nothing but the sidecar, so it can be compiled ahead of time (Native AOT). Ctrl+C and
// SIGTERM drain and stop it, as for `mesh sidecar`.
Mesh.Sidecar.Hosting.SidecarProcessSettings.Apply();
var root = SidecarCommand.Configure(new RootCommand(SidecarCommand.Description));
return await root.Parse(args).InvokeAsync(new InvocationConfiguration
{
    ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
});
