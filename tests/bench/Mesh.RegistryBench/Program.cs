using Mesh.RegistryBench;

return await BenchRunner.RunAsync(args, Console.Out);
