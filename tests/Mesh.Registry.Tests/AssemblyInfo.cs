// Each test runs real 3-node clusters with Raft timers; on a small shared machine, running them
// side by side makes elections slow and flaky.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
