using System.Text.Json;
using Mesh.Registry.ZooKeeper.Jute;
using Mesh.Registry.ZooKeeper.Protocol;
using Mesh.Registry.ZooKeeper.Protocol.Records;
using Mesh.Testing;
using Xunit.Abstractions;

namespace Mesh.Registry.ZooKeeper.Tests.Kazoo;

/// <summary>
/// Golden bytes from kazoo's own serializer (python3-kazoo): what kazoo sends, our codec reads and
/// writes byte for byte; what our codec writes, kazoo's deserializers read back to the same values.
/// </summary>
public sealed class KazooSerializerTests
{
    private const string RequestsScript = """
        import json
        from kazoo.protocol.serialization import *
        from kazoo.security import OPEN_ACL_UNSAFE, ACL, Id
        h = lambda b: bytes(b).hex()
        print(json.dumps({
          'connect': h(Connect(0, 42, 30000, 0, b'\x00' * 16, False).serialize()),
          'reconnect': h(Connect(0, 99, 10000, 123456789, bytes(range(16)), True).serialize()),
          'header': h(int_int_struct.pack(7, 4)),
          'create': h(Create('/a', b'x', OPEN_ACL_UNSAFE, 3).serialize()),
          'create2': h(Create2('/b/c', None, [ACL(1, Id('digest', 'u:h'))], 0).serialize()),
          'delete': h(Delete('/a', 4).serialize()),
          'exists': h(Exists('/a', True).serialize()),
          'getdata': h(GetData('/a', False).serialize()),
          'setdata': h(SetData('/a', b'yz', -1).serialize()),
          'getacl': h(GetACL('/a').serialize()),
          'setacl': h(SetACL('/a', OPEN_ACL_UNSAFE, 2).serialize()),
          'children': h(GetChildren('/', True).serialize()),
          'children2': h(GetChildren2('/a', False).serialize()),
          'sync': h(Sync('/a').serialize()),
          'check': h(CheckVersion('/a', 5).serialize()),
          'multi': h(Transaction([Create('/a', b'', OPEN_ACL_UNSAFE, 0), Delete('/b', -1), SetData('/c', b'1', 2), CheckVersion('/d', 0)]).serialize()),
          'auth': h(Auth(0, 'digest', 'u:p').serialize()),
        }))
        """;

    private const string ResponsesScript = """
        import json, sys
        from kazoo.protocol.serialization import *
        i = {k: bytes.fromhex(v) for k, v in json.load(sys.stdin).items()}
        c = Connect.deserialize(i['connect'], 0)[0]
        s = lambda st: list(st)
        r = ReplyHeader.deserialize(i['reply'], 0)[0]
        d, st = GetData.deserialize(i['getdata'], 0)
        ch, st2 = GetChildren2.deserialize(i['children2'], 0)
        p, st3 = Create2.deserialize(i['create2'], 0)
        m = Transaction.deserialize(i['multi'], 0)
        w = Watch.deserialize(i['watch'], 0)[0]
        acls, st4 = GetACL.deserialize(i['getacl'], 0)
        print(json.dumps({
          'connect': [c.protocol_version, c.time_out, c.session_id, c.passwd.hex(), c.read_only],
          'reply': list(r),
          'getdata': [d.hex(), s(st)],
          'children2': [ch, s(st2)],
          'create2': [p, s(st3)],
          'multi': [x if isinstance(x, (str, bool)) else type(x).__name__ for x in m],
          'watch': list(w),
          'getacl': [[a.perms, a.id.scheme, a.id.id] for a in acls],
          'exists': Exists.deserialize(i['exists'], 0) is None,
        }, separators=(',', ':')))
        """;

    private static readonly Stat SampleStat = new(10, 11, 1_700_000_000_000, 1_700_000_000_500, 2, 3, 0, 0x1234, 2, 1, 12);

    [SkippableFact]
    public void KazooRequests_ReadAndRewritten_AreByteForByteTheSame()
    {
        RequiredTool.Check(KazooPython.Unavailable());
        var (code, stdout, stderr) = KazooPython.Run(RequestsScript, "");
        Assert.True(code == 0, stderr);
        var golden = JsonSerializer.Deserialize<Dictionary<string, string>>(stdout)!;

        var connect = Same<ConnectRequest>(golden["connect"]);
        Assert.Equal((42L, 30_000, 0L, false), (connect.LastZxidSeen, connect.TimeOut, connect.SessionId, connect.ReadOnly));
        var reconnect = Same<ConnectRequest>(golden["reconnect"]);
        Assert.Equal((123456789L, true), (reconnect.SessionId, reconnect.ReadOnly));
        Assert.Equal(new RequestHeader(7, (int)OpCode.GetData), Same<RequestHeader>(golden["header"]));
        var create = Same<CreateRequest>(golden["create"]);
        Assert.Equal(("/a", 3, Acl.OpenUnsafe[0]), (create.Path, create.Flags, create.Acl![0]));
        var create2 = Same<CreateRequest>(golden["create2"]);
        Assert.Null(create2.Data);
        Assert.Equal(new Acl(1, new Id("digest", "u:h")), create2.Acl![0]);
        Assert.Equal(new DeleteRequest("/a", 4), Same<DeleteRequest>(golden["delete"]));
        Assert.Equal(new PathWatchRequest("/a", true), Same<PathWatchRequest>(golden["exists"]));
        Assert.Equal(new PathWatchRequest("/a", false), Same<PathWatchRequest>(golden["getdata"]));
        Assert.Equal("yz"u8.ToArray(), Same<SetDataRequest>(golden["setdata"]).Data);
        Assert.Equal(new PathRequest("/a"), Same<PathRequest>(golden["getacl"]));
        Assert.Equal(2, Same<SetAclRequest>(golden["setacl"]).Version);
        Assert.Equal(new PathWatchRequest("/", true), Same<PathWatchRequest>(golden["children"]));
        Assert.Equal(new PathWatchRequest("/a", false), Same<PathWatchRequest>(golden["children2"]));
        Assert.Equal(new PathRequest("/a"), Same<PathRequest>(golden["sync"]));
        Assert.Equal(new CheckVersionRequest("/a", 5), Same<CheckVersionRequest>(golden["check"]));
        var auth = Same<AuthPacket>(golden["auth"]);
        Assert.Equal(("digest", "u:p"), (auth.Scheme, System.Text.Encoding.UTF8.GetString(auth.Auth!)));

        var multiBytes = Convert.FromHexString(golden["multi"]);
        var reader = new JuteReader(multiBytes);
        var ops = MultiRequest.Read(ref reader, readOnly: false);
        reader.EnsureEnd("multi");
        var writer = new JuteWriter();
        MultiRequest.Write(writer, ops);
        Assert.Equal(multiBytes, writer.ToRecord());
        Assert.Equal([OpCode.Create, OpCode.Delete, OpCode.SetData, OpCode.Check], ops.Select(o => o.Type));
    }

    [SkippableFact]
    public void OurResponses_ReadByKazoo_GiveTheValuesWeWrote()
    {
        RequiredTool.Check(KazooPython.Unavailable());
        var input = new Dictionary<string, string>
        {
            ["connect"] = Hex(new ConnectResponse(0, 12_000, 77, [0xAB, 0xCD], false)),
            ["reply"] = Hex(new ReplyHeader(9, 1234, (int)ZkError.NodeExists)),
            ["getdata"] = Hex(new GetDataResponse([1, 2], SampleStat)),
            ["children2"] = Hex(new GetChildren2Response(["b", "a"], SampleStat)),
            ["create2"] = Hex(new Create2Response("/q0000000007", SampleStat)),
            ["watch"] = Hex(new WatcherEvent((int)WatcherEventType.NodeDeleted, (int)KeeperState.SyncConnected, "/x")),
            ["getacl"] = Hex(new GetAclResponse(Acl.OpenUnsafe, SampleStat)),
            ["exists"] = Hex(new StatResponse(new Stat(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1))),
        };
        var multi = new JuteWriter();
        MultiResponse.Write(multi, [new MultiResult((int)OpCode.Create, 0, new PathResponse("/a")), new MultiResult((int)OpCode.Check, 0, null), MultiResult.Failure(ZkError.Ok), MultiResult.Failure(ZkError.NoNode)]);
        input["multi"] = Convert.ToHexString(multi.ToRecord());

        var (code, stdout, stderr) = KazooPython.Run(ResponsesScript, JsonSerializer.Serialize(input));
        Assert.True(code == 0, stderr);
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;
        Assert.Equal("[0,12000,77,\"abcd\",false]", root.GetProperty("connect").GetRawText());
        Assert.Equal("[9,1234,-110]", root.GetProperty("reply").GetRawText());
        var statJson = "[10,11,1700000000000,1700000000500,2,3,0,4660,2,1,12]";
        Assert.Equal("[\"0102\"," + statJson + "]", root.GetProperty("getdata").GetRawText());
        Assert.Equal("[[\"b\",\"a\"]," + statJson + "]", root.GetProperty("children2").GetRawText());
        Assert.Equal("[\"/q0000000007\"," + statJson + "]", root.GetProperty("create2").GetRawText());
        Assert.Equal("[\"/a\",true,\"RolledBackError\",\"NoNodeError\"]", root.GetProperty("multi").GetRawText());
        Assert.Equal("[2,3,\"/x\"]", root.GetProperty("watch").GetRawText());
        Assert.Equal("[[31,\"world\",\"anyone\"]]", root.GetProperty("getacl").GetRawText());
        Assert.True(root.GetProperty("exists").GetBoolean());
    }

    private static string Hex<T>(T record)
        where T : IJuteRecord<T>
    {
        var writer = new JuteWriter();
        record.Write(writer);
        return Convert.ToHexString(writer.ToRecord());
    }

    /// <summary>Reads the golden bytes as <typeparamref name="T"/>, checks nothing is left, writes them again and checks the bytes match.</summary>
    private static T Same<T>(string hex)
        where T : IJuteRecord<T>
    {
        var bytes = Convert.FromHexString(hex);
        var reader = new JuteReader(bytes);
        var value = T.Read(ref reader);
        reader.EnsureEnd(typeof(T).Name);
        var writer = new JuteWriter();
        value.Write(writer);
        Assert.Equal(bytes, writer.ToRecord());
        return value;
    }
}
