using FsCheck;
using FsCheck.Fluent;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Tests.Model;

/// <summary>
/// Random command sequences. FsCheck draws each step as an array of numbers; <see cref="Build"/>
/// turns them into commands over a small universe of paths, sessions and clients, so collisions
/// (existing nodes, wrong versions, dead sessions, retries) are frequent.
/// </summary>
internal static class Scenario
{
    private const int IntsPerStep = 40;

    private static readonly string[] ValidPaths =
    [
        "/a", "/b", "/a/a", "/a/b", "/b/a", "/a/a/a", "/a/b/c", "/c/d/e", "/s", "/a/s",
        "/s0000000000", "/s0000000001", "/a/s0000000000", "/a/s0000000002", "/", "/a/a/b",
    ];

    private static readonly string[] InvalidPaths = ["", "a", "/a/", "//a", "/a/./b", "/a/../b", "/a\u0001", "/.."];

    private static readonly Guid[] Clients =
    [
        Guid.Empty,
        new("00000000-0000-0000-0000-000000000001"),
        new("00000000-0000-0000-0000-000000000002"),
        new("ffffffff-0000-0000-0000-000000000003"),
    ];

    private static readonly byte[] TooLarge = new byte[NodeLimits.MaxDataBytes + 1];

    public static Arbitrary<int[][]> Steps { get; } =
        Gen.ListOf(Gen.ArrayOf(Gen.Choose(0, 1_000_000), IntsPerStep)).Select(l => l.ToArray()).ToArbitrary();

    public static List<(long Index, Command Command)> Build(int[][] steps)
    {
        var commands = new List<(long, Command)>(steps.Length);
        var sessions = new List<long>();
        var lastSeq = new long[Clients.Length];
        long index = 0, time = 1_700_000_000_000;
        foreach (var v in steps)
        {
            index += v[0] % 10 == 0 ? 2 : 1;
            time += v[1] % 50 == 0 ? 3_700_000 : v[1] % 3000;
            var client = v[2] % Clients.Length;
            long seq = 0;
            if (client != 0)
            {
                seq = (v[3] % 10) switch
                {
                    0 => lastSeq[client],
                    1 => lastSeq[client] - 1,
                    _ => lastSeq[client] + 1,
                };
                lastSeq[client] = Math.Max(lastSeq[client], seq);
            }

            var header = new CommandHeader(Clients[client], seq, time);
            var kind = v[4] % 100;
            Command command = kind switch
            {
                < 25 => new CreateNode(header, PathOf(v[5]), DataOf(v[6]), (CreateMode)(v[7] % 4), SessionOf(v[8], sessions), v[9] % 3 == 0),
                < 45 => new SetData(header, PathOf(v[5]), DataOf(v[6]), (v[10] % 4) - 1),
                < 58 => new DeleteNode(header, PathOf(v[5]), (v[10] % 3) - 1, v[9] % 3 == 0),
                < 68 => new Transaction(header, OpsOf(v, sessions)),
                < 76 => new OpenSession(header, new long[] { 500, 1000, 3000, 10_000, 700_000 }[v[11] % 5]),
                < 81 => new KeepAlive(header, SessionOf(v[8], sessions)),
                < 84 => new KeepAliveMany(header, [SessionOf(v[8], sessions), SessionOf(v[11], sessions), SessionOf(v[12], sessions)]),
                < 89 => new CloseSession(header, SessionOf(v[8], sessions)),
                < 97 => new ExpireSessions(header, time + new long[] { -5000, 0, 2000, 10_000, 50_000, 4_000_000 }[v[12] % 6]),
                _ => new ResetSessionDeadlines(header, time + (v[12] % 5000)),
            };
            if (command is OpenSession)
            {
                sessions.Add(index);
            }

            commands.Add((index, command));
        }

        return commands;
    }

    private static TxnOp[] OpsOf(int[] v, List<long> sessions)
    {
        var ops = new TxnOp[v[13] % 5];
        for (var i = 0; i < ops.Length; i++)
        {
            var o = 14 + (i * 6);
            ops[i] = (v[o] % 4) switch
            {
                0 => new CheckVersionOp(PathOf(v[o + 1]), (v[o + 2] % 3) - 1),
                1 => new CreateOp(PathOf(v[o + 1]), DataOf(v[o + 3]), (CreateMode)(v[o + 4] % 4), SessionOf(v[o + 5], sessions), v[o + 2] % 3 == 0),
                2 => new SetDataOp(PathOf(v[o + 1]), DataOf(v[o + 3]), (v[o + 2] % 3) - 1),
                _ => new DeleteOp(PathOf(v[o + 1]), (v[o + 2] % 3) - 1, v[o + 4] % 3 == 0),
            };
        }

        return ops;
    }

    private static string PathOf(int v) => v % 20 == 0 ? InvalidPaths[v / 20 % InvalidPaths.Length] : ValidPaths[v % ValidPaths.Length];

    private static byte[] DataOf(int v) => v % 100 == 0 ? TooLarge : [.. Enumerable.Range(0, v % 4).Select(i => (byte)(v >> i))];

    private static long SessionOf(int v, List<long> sessions) =>
        v % 8 == 0 || sessions.Count == 0 ? 999_999 : sessions[v % sessions.Count];

    /// <summary>Applies a command to the model, reading the command records as plain input.</summary>
    public static MResult ApplyTo(ReferenceModel model, long index, Command command)
    {
        var h = command.Header;
        return model.Apply(index, h.ClientId, h.Sequence, h.TimeMs, () => command switch
        {
            CreateNode c => model.Create(c.Path, c.Data.ToArray(), (int)c.Mode, c.SessionId, c.CreateParents),
            SetData c => model.Set(c.Path, c.Data.ToArray(), c.ExpectedVersion),
            DeleteNode c => model.Delete(c.Path, c.ExpectedVersion, c.Recursive),
            Transaction c => model.Transaction(c.Ops.Select(op => (op.Path, (Func<MResult>)(op switch
            {
                CheckVersionOp o => () => model.Check(o.Path, o.ExpectedVersion),
                CreateOp o => () => model.Create(o.Path, o.Data.ToArray(), (int)o.Mode, o.SessionId, o.CreateParents),
                SetDataOp o => () => model.Set(o.Path, o.Data.ToArray(), o.ExpectedVersion),
                DeleteOp o => () => model.Delete(o.Path, o.ExpectedVersion, o.Recursive),
                _ => throw new InvalidOperationException(),
            }))).ToList()),
            OpenSession c => model.OpenSession(c.TtlMs),
            KeepAlive c => model.KeepAlive(c.SessionId),
            KeepAliveMany c => model.KeepAliveMany(c.SessionIds),
            CloseSession c => model.CloseSession(c.SessionId),
            ExpireSessions c => model.Expire(c.NowMs),
            ResetSessionDeadlines c => model.Reset(c.NowMs),
            _ => throw new InvalidOperationException(),
        });
    }

    /// <summary>The real result in the model's text form.</summary>
    public static string Render(ApplyResult r) => new MResult
    {
        Index = r.Index,
        Error = r.Error.ToString(),
        Path = r.Path,
        Stat = r.Stat,
        SessionId = r.SessionId,
        Ttl = r.TtlMs,
        Ops = r.OpResults.Select(o => $"{o.Error} {o.Path} {o.Stat}").ToList(),
        FailedOp = r.FailedOp,
        Expired = r.ExpiredSessions,
        Events = r.Events.Select(e => $"{e.Type} {e.Path}").ToList(),
        Replay = r.IsReplay,
    }.Render();

    /// <summary>Everything a reader can see of the real machine, as text.</summary>
    public static string Observe(RegistryStateMachine m)
    {
        var lines = new List<string>();
        void Walk(string path)
        {
            var node = m.GetNode(path);
            lines.Add($"{path} {Convert.ToHexString(node.Data.Span)} {node.Stat}");
            foreach (var child in m.GetChildren(path).Children)
            {
                Walk(path == "/" ? "/" + child : path + "/" + child);
            }
        }

        Walk("/");
        lines.Sort(StringComparer.Ordinal);
        lines.AddRange(m.GetSessions().Select(s => $"{s.Id} ttl={s.TtlMs} deadline={s.DeadlineMs}"));
        return string.Join("\n", lines);
    }

    /// <summary>Everything of the model, in the same form as <see cref="Observe"/>.</summary>
    public static string Observe(ReferenceModel model) =>
        string.Join("\n", model.Nodes.Select(kv => $"{kv.Key} {Convert.ToHexString(kv.Value.Data)} {model.StatOf(kv.Key)}").Concat(model.Sessions));
}
