using System.CommandLine;
using Mesh.Cli.Inject;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh inject -f FILE|-</c>: the manifest with the sidecar added, to standard output or <c>-o FILE</c>; nothing on error.</summary>
internal static class InjectCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--file", "-f") { Description = "Manifest to inject ('-' reads standard input).", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "Write here instead of standard output." };
        var image = new Option<string>("--image") { Description = "The mesh image for the sidecar and init containers.", DefaultValueFactory = _ => new InjectOptions().Image };
        var registry = new Option<string>("--registry") { Description = "Registry address the sidecars use.", DefaultValueFactory = _ => new InjectOptions().Registry };
        var layout = InjectLayoutOption.Create();
        var command = new Command("inject", "Add the sidecar to the Kubernetes workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods) in a manifest.") { file, output, image, registry, layout };
        command.SetAction(result =>
        {
            var path = result.GetValue(file)!;
            var error = result.InvocationConfiguration.Error;
            try
            {
                var text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
                var injector = new ManifestInjector(new InjectOptions { Image = result.GetValue(image)!, Registry = result.GetValue(registry)!, Layout = result.GetValue(layout) });
                var injected = injector.Inject(text, path == "-" ? "<stdin>" : path);
                if (result.GetValue(output) is { } target)
                    File.WriteAllText(target, injected);
                else
                    result.InvocationConfiguration.Output.Write(injected);
                return 0;
            }
            catch (ManifestException ex)
            {
                // One problem, one line (file:line: what); several, one line each under a count.
                error.WriteLine(ex.Problems.Count == 1
                    ? $"mesh inject: {ex.Problems[0]} (nothing written)"
                    : $"mesh inject: {ex.Problems.Count} problems, nothing written:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", ex.Problems)}");
                return 1;
            }
            catch (IOException ex)
            {
                error.WriteLine($"mesh inject: {ex.Message}");
                return 1;
            }
            catch (UnauthorizedAccessException ex)
            {
                error.WriteLine($"mesh inject: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}

/// <summary><c>--layout native|classic</c>, shared by <c>mesh inject</c> and <c>mesh injector</c>.</summary>
internal static class InjectLayoutOption
{
    public static Option<SidecarLayout> Create()
    {
        var option = new Option<SidecarLayout>("--layout")
        {
            Description = $"Where the sidecar goes: native (an init container with restartPolicy: Always, Kubernetes 1.29+) or classic (a container beside the app's). A pod's {SidecarLayouts.Annotation} annotation overrides it.",
            DefaultValueFactory = _ => SidecarLayout.Native,
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (SidecarLayouts.TryParse(text, out var layout))
                    return layout;
                result.AddError($"--layout: '{text}' is neither native nor classic");
                return default;
            },
        };
        return option;
    }
}
