using System.CommandLine;
using Mesh.Demo;
using Spectre.Console;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh demo</c>: the whole mesh on this machine in one command.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var duration = new Option<string?>("--duration", "-d") { Description = "Run this long (e.g. 20s, 2m), print a summary and exit; default: until Ctrl+C." };
        var chaos = new Option<bool>("--chaos") { Description = "Kill the registry leader and a catalog instance mid-run." };
        var rate = new Option<int>("--rate") { Description = "Requests per second sent to the frontend.", DefaultValueFactory = _ => 50 };
        var plain = new Option<bool>("--plain") { Description = "Plain text updates instead of the live table (automatic when output is redirected)." };
        var command = new Command("demo", "Run a local mesh: a 3-node registry, sample services with sidecars, and live traffic.") { duration, chaos, rate, plain };
        command.SetAction(async (result, cancellationToken) =>
        {
            TimeSpan? length = null;
            if (result.GetValue(duration) is { } text)
            {
                var (parsed, problem) = DurationOption.Parse("--duration", text, TimeSpan.FromMilliseconds(1));
                if (problem is not null)
                {
                    result.InvocationConfiguration.Error.WriteLine($"mesh demo: {problem}");
                    return 2;
                }

                length = parsed;
            }

            if (result.GetValue(rate) is < 1 or > 5000)
            {
                result.InvocationConfiguration.Error.WriteLine("mesh demo: --rate must be between 1 and 5000");
                return 2;
            }

            var output = result.InvocationConfiguration.Output;
            var isPlain = result.GetValue(plain) || Console.IsOutputRedirected;
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
            var options = new DemoOptions { Duration = length, Chaos = result.GetValue(chaos), Rate = result.GetValue(rate), Plain = isPlain };
            return await new DemoRun(options, console, output).RunAsync(cancellationToken);
        });
        return command;
    }
}
