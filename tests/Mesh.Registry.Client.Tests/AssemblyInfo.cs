// Each test class runs real registry clusters with Raft timers; side by side on a small shared
// machine they make elections slow, so classes run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
