using System.CommandLine;
using Mesh.Cli.Commands;
using Mesh.Sidecar.Hosting;

namespace Mesh.Cli;

/// <summary>The command tree of <c>mesh</c>: one sub-command per job a user has.</summary>
internal static class MeshCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("Mesh: a small, fast service mesh with an embedded registry.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(RegistryCommand.Create());
        root.Subcommands.Add(SidecarCommand.Create());
        root.Subcommands.Add(CtlCommand.Create());
        root.Subcommands.Add(InjectCommand.Create());
        root.Subcommands.Add(TopCommand.Create());
        root.Subcommands.Add(IptablesCommandLine.Create());
        return root;
    }
}
