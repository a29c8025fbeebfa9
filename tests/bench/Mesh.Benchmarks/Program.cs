using BenchmarkDotNet.Running;

// Runs every benchmark class in this assembly; pick with --filter.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
