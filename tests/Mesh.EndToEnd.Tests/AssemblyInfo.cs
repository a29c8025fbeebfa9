// Whole meshes (registry cluster + sidecars + apps) per test: one at a time on a small machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
