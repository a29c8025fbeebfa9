using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Mesh.Cli.Commands;

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
        root.Subcommands.Add(InjectorCommand.Create());
        root.Subcommands.Add(TopCommand.Create());
        root.Subcommands.Add(DashboardCommand.Create());
        root.Subcommands.Add(IptablesCommandLine.Create());
        foreach (var help in root.Options.OfType<HelpOption>())
        {
            if (help.Action is HelpAction action)
                help.Action = new UnknownCommandAwareHelp(action);
        }
        return root;
    }

    /// <summary>
    /// --help clears parse errors so that <c>mesh registry --help</c> works without the required
    /// flags; but it also made <c>mesh injectr --help</c> print the root help and exit 0, as if
    /// the typo were a command. A word the parser did not match is reported as an error instead.
    /// </summary>
    private sealed class UnknownCommandAwareHelp(HelpAction help) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            if (parseResult.UnmatchedTokens.Count == 0)
                return help.Invoke(parseResult);
            // The parser has already dropped its errors for --help's sake, so say it here, in its words.
            var error = parseResult.InvocationConfiguration.Error;
            foreach (var token in parseResult.UnmatchedTokens)
                error.WriteLine($"Unrecognized command or argument '{token}'.");
            help.Invoke(parseResult);
            return 1;
        }
    }
}
