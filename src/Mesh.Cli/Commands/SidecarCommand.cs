using System.CommandLine;
using Mesh.Sidecar;
using Mesh.Sidecar.Configuration;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh sidecar --config sidecar.yaml</c>: runs one sidecar until SIGTERM or Ctrl+C, then drains.</summary>
internal static class SidecarCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "The sidecar's bootstrap file (see README, Configuration).", Required = true };
        var check = new Option<bool>("--check") { Description = "Validate the configuration, print the problems, and exit." };
        var command = new Command("sidecar", "Run the sidecar proxy next to a service.") { config, check };
        command.SetAction(async (result, cancellationToken) =>
        {
            SidecarConfig loaded;
            try
            {
                loaded = SidecarConfigLoader.LoadFile(result.GetValue(config)!);
            }
            catch (SidecarConfigException ex)
            {
                result.InvocationConfiguration.Error.WriteLine($"mesh sidecar: {ex.Message}");
                return 2;
            }

            if (result.GetValue(check))
            {
                result.InvocationConfiguration.Output.WriteLine($"{result.GetValue(config)}: valid ({loaded.Routes.Count} inline route(s))");
                return 0;
            }

            try
            {
                await MeshSidecar.RunAsync(loaded, cancellationToken);
                return 0;
            }
            catch (SidecarStartupException ex)
            {
                result.InvocationConfiguration.Error.WriteLine($"mesh sidecar: {ex.Message}");
                return 2;
            }
            catch (IOException ex)
            {
                // Kestrel reports an address in use as an IOException.
                result.InvocationConfiguration.Error.WriteLine($"mesh sidecar: cannot listen: {ex.Message}");
                return 2;
            }
        });
        return command;
    }
}
