using System.CommandLine;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Hosting;

namespace Mesh.Cli.Commands;

/// <summary>
/// <c>mesh sidecar --config sidecar.yaml</c>, and the same options as the whole command line of
/// the native <c>mesh-sidecar</c> binary: runs one sidecar until SIGTERM or Ctrl+C, then drains.
/// The sidecar library has no command line; this file is compiled into both binaries
/// (src/Mesh.Sidecar.Native links it), so the two parse the same options.
/// </summary>
internal static class SidecarCommand
{
    public const string Description = "Run the sidecar proxy next to a service.";

    /// <summary>The <c>sidecar</c> sub-command of <c>mesh</c>.</summary>
    public static Command Create() => Configure(new Command("sidecar", Description));

    /// <summary>
    /// Adds the sidecar's options and action to <paramref name="command"/> (a sub-command or a
    /// root). <paramref name="started"/> runs once the sidecar listens (the native binary releases
    /// its start-up pages then).
    /// </summary>
    public static TCommand Configure<TCommand>(TCommand command, Action? started = null)
        where TCommand : Command
    {
        var config = new Option<string>("--config", "-c") { Description = "The sidecar's bootstrap file (see docs/configuration.md).", Required = true };
        var check = new Option<bool>("--check") { Description = "Validate the configuration, print the problems, and exit." };
        command.Options.Add(config);
        command.Options.Add(check);
        command.SetAction(async (result, cancellationToken) =>
        {
            SidecarConfig loaded;
            try
            {
                loaded = SidecarConfigLoader.LoadFile(result.GetValue(config)!);
            }
            catch (SidecarConfigException ex)
            {
                result.InvocationConfiguration.Error.WriteLine($"{Name(result)}: {ex.Message}");
                return 2;
            }

            if (result.GetValue(check))
            {
                result.InvocationConfiguration.Output.WriteLine($"{result.GetValue(config)}: valid ({loaded.Routes.Count} inline route(s))");
                return 0;
            }

            // Before the sidecar opens its first socket: the runtime reads these then.
            SidecarProcessSettings.ApplyFor(loaded);
            try
            {
                // One line with the bound addresses: with port 0 in the configuration it is the only way to learn them.
                await MeshSidecar.RunAsync(loaded, cancellationToken, started: s =>
                {
                    result.InvocationConfiguration.Output.WriteLine(
                        $"{Name(result)}: listening: outbound {s.Host.OutboundUrl} inbound {s.Host.InboundUrl} admin {s.Host.AdminUrl}");
                    started?.Invoke();
                });
                return 0;
            }
            catch (SidecarStartupException ex)
            {
                result.InvocationConfiguration.Error.WriteLine($"{Name(result)}: {ex.Message}");
                return 2;
            }
            catch (IOException ex)
            {
                // Kestrel reports an address in use as an IOException.
                result.InvocationConfiguration.Error.WriteLine($"{Name(result)}: cannot listen: {ex.Message}");
                return 2;
            }
        });
        return command;
    }

    // "mesh sidecar" or "mesh-sidecar", as the user typed it.
    private static string Name(ParseResult result) =>
        result.CommandResult.Command is RootCommand ? "mesh-sidecar" : "mesh sidecar";
}
