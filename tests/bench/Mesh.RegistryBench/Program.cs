using Mesh.RegistryBench;

try
{
    return await BenchRunner.RunAsync(args, Console.Out);
}
catch (Exception e)
{
    // One line, last: measure.sh keeps only the tail of what a failed client printed.
    Console.Out.WriteLine($"fatal: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
    return 1;
}
