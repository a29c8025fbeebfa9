using Mesh.Registry.Core;

namespace Mesh.Registry.Storage;

/// <summary>The core state's snapshot bytes; the format itself belongs to the core.</summary>
internal static class SnapshotFormat
{
    public static void Write(RegistryStateMachine state, Stream destination) => state.WriteSnapshot(destination);

    public static RegistryStateMachine Read(Stream source) => RegistryStateMachine.ReadSnapshot(source);
}
