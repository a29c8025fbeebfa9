using Mesh.Cli;

// The `mesh` command: one binary for everything a user runs. This file only composes.
return await MeshCommandLine.Build().Parse(args).InvokeAsync();
