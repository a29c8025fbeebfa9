using System.CommandLine;
using Mesh.Registry.PeerTls;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh registry keygen</c>: a new cluster key for <c>--cluster-key-file</c>.</summary>
internal static class KeygenCommand
{
    public static Command Create()
    {
        var output = new Option<string?>("--out", "-o")
        {
            Description = "Write the key to this new file, readable only by its owner (an existing file is never overwritten). Default: standard output.",
        };
        var command = new Command("keygen", $"Print a new cluster key ({ClusterKey.MinimumBytes} random bytes, base64) for {ClusterKey.Flag}; give every node of a cluster the same one.")
        {
            output,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var line = ClusterKey.Generate().ToBase64() + "\n";
            if (parseResult.GetValue(output) is not { } path)
            {
                await parseResult.InvocationConfiguration.Output.WriteAsync(line);
                return 0;
            }
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                await using var file = new StreamWriter(path, System.Text.Encoding.ASCII, options);
                await file.WriteAsync(line.AsMemory(), cancellationToken);
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"mesh registry keygen: --out '{path}': {(File.Exists(path) ? "the file exists; a key file is never overwritten" : e.Message)}");
                return 1;
            }
        });
        return command;
    }
}
