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
        var command = new Command("inject", "Add the sidecar to Kubernetes Deployments in a manifest.") { file, output, image, registry };
        command.SetAction(result =>
        {
            var path = result.GetValue(file)!;
            var error = result.InvocationConfiguration.Error;
            try
            {
                var text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
                var injector = new ManifestInjector(new InjectOptions { Image = result.GetValue(image)!, Registry = result.GetValue(registry)! });
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
