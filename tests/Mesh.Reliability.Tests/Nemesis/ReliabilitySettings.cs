using System.Collections;
using System.Globalization;
using Mesh.Common.Time;

namespace Mesh.Reliability.Tests.Nemesis;

/// <summary>
/// The knobs of a reliability run, read from the environment so that a failed run can be
/// replayed exactly: <c>MESH_RELIABILITY_SEED</c> (int; random and printed when unset),
/// <c>MESH_RELIABILITY_DURATION</c> (e.g. <c>30s</c>, <c>2m</c>, <c>500ms</c>),
/// <c>MESH_RELIABILITY_CYCLE</c> (same format), <c>MESH_RELIABILITY_FAULTS</c>
/// (comma-separated fault kinds, e.g. <c>partition,crash</c>), <c>MESH_RELIABILITY_NODES</c>.
/// </summary>
internal static class ReliabilitySettings
{
    public const string SeedVariable = "MESH_RELIABILITY_SEED";
    public const string DurationVariable = "MESH_RELIABILITY_DURATION";
    public const string CycleVariable = "MESH_RELIABILITY_CYCLE";
    public const string FaultsVariable = "MESH_RELIABILITY_FAULTS";
    public const string NodesVariable = "MESH_RELIABILITY_NODES";

    public static FaultScheduleOptions Defaults { get; } =
        new(Seed: 0, Duration: TimeSpan.FromSeconds(20), Kinds: Enum.GetValues<FaultKind>(), CycleLength: TimeSpan.FromSeconds(4), Nodes: 3);

    /// <summary>Reads the options from <paramref name="environment"/> (the process environment when null).</summary>
    public static FaultScheduleOptions FromEnvironment(IDictionary? environment = null, FaultScheduleOptions? defaults = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        defaults ??= Defaults;
        string? Get(string name) => environment[name] is string { Length: > 0 } value ? value.Trim() : null;

        return new FaultScheduleOptions(
            Seed: Get(SeedVariable) is { } seed ? int.Parse(seed, CultureInfo.InvariantCulture) : Random.Shared.Next(),
            Duration: Get(DurationVariable) is { } duration ? ParseDuration(duration) : defaults.Duration,
            Kinds: Get(FaultsVariable) is { } faults
                ? faults.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(f => Enum.Parse<FaultKind>(f, ignoreCase: true)).ToArray()
                : defaults.Kinds,
            CycleLength: Get(CycleVariable) is { } cycle ? ParseDuration(cycle) : defaults.CycleLength,
            Nodes: Get(NodesVariable) is { } nodes ? int.Parse(nodes, CultureInfo.InvariantCulture) : defaults.Nodes);
    }

    /// <summary>The environment assignments that reproduce <paramref name="options"/>.</summary>
    public static string ReplayCommand(FaultScheduleOptions options) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{SeedVariable}={options.Seed} {DurationVariable}={Format(options.Duration)} {CycleVariable}={Format(options.CycleLength)} " +
            $"{FaultsVariable}={string.Join(",", options.Kinds).ToLowerInvariant()} {NodesVariable}={options.Nodes}");

    /// <summary>Mesh's one duration syntax (<see cref="Durations"/>): <c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1h</c>.</summary>
    public static TimeSpan ParseDuration(string text) =>
        Durations.TryParse(text, out var value) ? value : throw new FormatException(Durations.Problem(text));

    public static string Format(TimeSpan duration) => Durations.Format(duration);
}
