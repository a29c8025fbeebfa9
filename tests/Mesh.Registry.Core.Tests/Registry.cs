using System.Text;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests;

/// <summary>A state machine with a running index and clock, so tests read as a list of commands.</summary>
internal sealed class Registry
{
    public RegistryStateMachine Machine { get; } = new();

    public long Index { get; set; }

    public long Time { get; set; } = 1_000_000;

    public ApplyResult Apply(Command command) => Machine.Apply(++Index, command);

    public CommandHeader Header() => CommandHeader.At(Time);

    public ApplyResult Create(string path, string data = "", CreateMode mode = CreateMode.Persistent, long session = 0, bool parents = false) =>
        Apply(new CreateNode(Header(), path, Bytes(data), mode, session, parents));

    public ApplyResult Set(string path, string data, long version = -1) => Apply(new SetData(Header(), path, Bytes(data), version));

    public ApplyResult Delete(string path, long version = -1, bool recursive = false) => Apply(new DeleteNode(Header(), path, version, recursive));

    public long OpenSession(long ttlMs = 10_000) => Apply(new OpenSession(Header(), ttlMs)).SessionId;

    public string Data(string path) => Encoding.UTF8.GetString(Machine.GetNode(path).Data.Span);

    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
