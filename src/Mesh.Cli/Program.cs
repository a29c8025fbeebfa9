using System.CommandLine;
using Mesh.Cli;

// The `mesh` command: one binary for everything a user runs. This file only composes.
// Ctrl+C and SIGTERM cancel the running command, which then drains and stops cleanly; a sidecar
// drains for its drainTime (5 s by default), so allow more than System.CommandLine's 2 s.
if (args is ["sidecar", ..])
    Mesh.Sidecar.Hosting.SidecarProcessSettings.Apply();
return await MeshCommandLine.Build().Parse(args).InvokeAsync(new InvocationConfiguration
{
    ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
});
