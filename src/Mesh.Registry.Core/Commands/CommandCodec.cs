using System.Buffers;
using System.Text;
using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core.Commands;

/// <summary>
/// The log entry format of commands: compact binary, versioned.
/// <code>
/// command  = version:u8(1 to 4) kind:u8 header [quota, versions 2 and 4] body
///          | (5 | 6) features:u8(1 = quota, 2 = caller) kind:u8 header [quota] [caller] body
/// header   = clientId:16 bytes (Guid.ToByteArray order) sequence:zigzag-varint timeMs:zigzag-varint
/// quota    = owner:string maxNodes:zigzag maxBytes:zigzag maxSessions:zigzag
/// string   = length:varint utf8-bytes      data = length:varint bytes
///                                          (versions 3 and 4: (length + 1):varint bytes, 0 = null)
/// </code>
/// caller   = count:varint (scheme:string id:string)*
/// acl      = count:varint (perms:zigzag scheme:string id:string)*   (0 entries = the open ACL)
/// Bodies: create = path data mode:u8 session:zigzag flags:u8(1 = create parents) [acl, versions 5 and 6]
/// [ttl:zigzag, version 6] (version 6 = version 5 plus the container and TTL modes 4 to 6 and a TTL,
/// written for a create of such a mode or with a TTL, so what the leader applies is what replicas decode);
/// set = path data version:zigzag; delete = path version:zigzag flags:u8(1 = recursive);
/// txn = count:varint (op-kind:u8 op-body)* with op bodies as above (check = path version;
/// set-acl = path acl version:zigzag, version 5 only);
/// session commands = one zigzag-varint (ttl, id or now); keep-alive-many = count:varint id:zigzag*
/// (kind 10: a node of a build without it refuses the entry as an unknown kind, never misreads it);
/// reap (kind 11) = count:varint (path createdIndex:zigzag version:zigzag cversion:zigzag)*, proposed
/// only where container or TTL nodes exist.
/// Decoding checks every length against the bytes left, so garbage fails fast with a
/// <see cref="CommandFormatException"/>, never a huge allocation or a hang.
/// Strings must be valid UTF-16 (no unpaired surrogate) to be encoded. A command without a quota
/// is written as version 1, so nodes of an older build still read it; likewise only a command that
/// carries null data (<see cref="NodeData.Null"/>) is written as version 3 (4 with a quota), and
/// only one with a caller or an ACL other than the open one as version 5 (whose data is always
/// nullable), and only one that creates a container or TTL node as version 6. So a cluster that
/// never used null data, ACLs, containers or TTL nodes stays readable by older builds.
/// </summary>
public static class CommandCodec
{
    public const byte FormatVersion = 1;

    /// <summary>The version of commands that carry a <see cref="CommandHeader.Quota"/>.</summary>
    public const byte QuotaFormatVersion = 2;

    /// <summary>Versions 1 and 2 with data that may be null (<see cref="NodeData.Null"/>).</summary>
    public const byte NullableDataFormatVersion = 3;

    public const byte NullableDataQuotaFormatVersion = 4;

    /// <summary>A features byte (quota, caller) after the version; nullable data; ACLs in creates and set-ACL ops.</summary>
    public const byte AclFormatVersion = 5;

    /// <summary>Version 5 whose creates may be containers or TTL nodes (modes 4 to 6, a TTL after the ACL).</summary>
    public const byte ExtendedModeFormatVersion = 6;

    private const byte FeatureQuota = 1;

    private const byte FeatureCaller = 2;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Encode(Command command)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        Encode(command, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static void Encode(Command command, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(output);
        var quota = command.Header.Quota;
        var caller = command.Header.Caller;
        var extended = CarriesExtendedMode(command);
        var acls = extended || caller is not null || CarriesAcl(command);
        var nullable = acls || CarriesNullData(command);
        var w = new Writer(output, nullable, acls, extended);
        if (acls)
        {
            w.Byte(extended ? ExtendedModeFormatVersion : AclFormatVersion);
            w.Byte((byte)((quota is null ? 0 : FeatureQuota) | (caller is null ? 0 : FeatureCaller)));
        }
        else
        {
            w.Byte((quota, nullable) switch
            {
                (null, false) => FormatVersion,
                (_, false) => QuotaFormatVersion,
                (null, true) => NullableDataFormatVersion,
                _ => NullableDataQuotaFormatVersion,
            });
        }

        w.Byte((byte)KindOf(command));
        w.Guid(command.Header.ClientId);
        w.Signed(command.Header.Sequence);
        w.Signed(command.Header.TimeMs);
        if (quota is not null)
        {
            w.String(quota.Owner);
            w.Signed(quota.MaxNodes);
            w.Signed(quota.MaxBytes);
            w.Signed(quota.MaxSessions);
        }

        if (caller is not null)
        {
            w.Varint((ulong)caller.Count);
            foreach (var id in caller)
            {
                w.String(id.Scheme);
                w.String(id.Id);
            }
        }
        switch (command)
        {
            case CreateNode c:
                WriteCreate(ref w, c.Path, c.Data, c.Mode, c.SessionId, c.CreateParents, c.Acl, c.TtlMs);
                break;
            case SetData c:
                WriteSet(ref w, c.Path, c.Data, c.ExpectedVersion);
                break;
            case DeleteNode c:
                WriteDelete(ref w, c.Path, c.ExpectedVersion, c.Recursive);
                break;
            case Transaction c:
                w.Varint((ulong)c.Ops.Count);
                foreach (var op in c.Ops)
                {
                    switch (op)
                    {
                        case CheckVersionOp o:
                            w.Byte((byte)OpKind.Check);
                            w.String(o.Path);
                            w.Signed(o.ExpectedVersion);
                            break;
                        case CreateOp o:
                            w.Byte((byte)OpKind.Create);
                            WriteCreate(ref w, o.Path, o.Data, o.Mode, o.SessionId, o.CreateParents, o.Acl, o.TtlMs);
                            break;
                        case SetAclOp o when w.Acls:
                            w.Byte((byte)OpKind.SetAcl);
                            w.String(o.Path);
                            w.Acl(o.Acl);
                            w.Signed(o.ExpectedVersion);
                            break;
                        case SetDataOp o:
                            w.Byte((byte)OpKind.Set);
                            WriteSet(ref w, o.Path, o.Data, o.ExpectedVersion);
                            break;
                        case DeleteOp o:
                            w.Byte((byte)OpKind.Delete);
                            WriteDelete(ref w, o.Path, o.ExpectedVersion, o.Recursive);
                            break;
                        default:
                            throw new ArgumentException($"unknown transaction op {op?.GetType().Name ?? "null"}", nameof(command));
                    }
                }

                break;
            case OpenSession c:
                w.Signed(c.TtlMs);
                break;
            case KeepAlive c:
                w.Signed(c.SessionId);
                break;
            case KeepAliveMany c:
                w.Varint((ulong)c.SessionIds.Count);
                foreach (var id in c.SessionIds)
                    w.Signed(id);
                break;
            case CloseSession c:
                w.Signed(c.SessionId);
                break;
            case ExpireSessions c:
                w.Signed(c.NowMs);
                break;
            case ResetSessionDeadlines c:
                w.Signed(c.NowMs);
                break;
            case ReapNodes c:
                w.Varint((ulong)c.Nodes.Count);
                foreach (var node in c.Nodes)
                {
                    w.String(node.Path);
                    w.Signed(node.CreatedIndex);
                    w.Signed(node.Version);
                    w.Signed(node.ChildVersion);
                }

                break;
        }
    }

    public static Command Decode(ReadOnlySequence<byte> bytes) =>
        bytes.IsSingleSegment ? Decode(bytes.FirstSpan) : Decode((ReadOnlySpan<byte>)bytes.ToArray());

    public static Command Decode(ReadOnlySpan<byte> bytes)
    {
        var r = new Reader(bytes);
        var version = r.Byte();
        if (version is not (FormatVersion or QuotaFormatVersion or NullableDataFormatVersion or NullableDataQuotaFormatVersion or AclFormatVersion or ExtendedModeFormatVersion))
        {
            throw new CommandFormatException($"unsupported command format version {version} (this build reads {FormatVersion} to {ExtendedModeFormatVersion})");
        }

        r.NullableData = version >= NullableDataFormatVersion;
        r.Acls = version >= AclFormatVersion;
        r.ExtendedModes = version == ExtendedModeFormatVersion;
        var features = r.Acls ? r.Byte() : 0;
        if (features > (FeatureQuota | FeatureCaller))
        {
            throw new CommandFormatException($"unknown command features {features} at byte 1");
        }

        var kind = r.Byte();
        var header = new CommandHeader(r.Guid(), r.Signed(), r.Signed());
        if (version is QuotaFormatVersion or NullableDataQuotaFormatVersion || (features & FeatureQuota) != 0)
        {
            header = header with { Quota = new Quotas.Quota(r.String(), r.Signed(), r.Signed(), r.Signed()) };
        }

        if ((features & FeatureCaller) != 0)
        {
            var at = r.Position;
            var count = r.Varint();
            if (count > (ulong)r.Remaining)
            {
                throw new CommandFormatException($"caller identity count {count} at byte {at} exceeds the {r.Remaining} bytes left");
            }

            var caller = new AclId[(int)count];
            for (var i = 0; i < caller.Length; i++)
            {
                caller[i] = new AclId(r.String(), r.String());
            }

            header = header with { Caller = caller };
        }

        Command command = (Kind)kind switch
        {
            Kind.Create => ReadCreate(ref r, header),
            Kind.Set => new SetData(header, r.String(), r.Data(), r.Signed()),
            Kind.Delete => new DeleteNode(header, r.String(), r.Signed(), r.Flag()),
            Kind.Transaction => ReadTransaction(ref r, header),
            Kind.OpenSession => new OpenSession(header, r.Signed()),
            Kind.KeepAlive => new KeepAlive(header, r.Signed()),
            Kind.KeepAliveMany => ReadKeepAliveMany(ref r, header),
            Kind.CloseSession => new CloseSession(header, r.Signed()),
            Kind.ExpireSessions => new ExpireSessions(header, r.Signed()),
            Kind.ResetSessionDeadlines => new ResetSessionDeadlines(header, r.Signed()),
            Kind.ReapNodes => ReadReapNodes(ref r, header),
            _ => throw new CommandFormatException($"unknown command kind {kind} at byte 1"),
        };
        if (!r.AtEnd)
        {
            throw new CommandFormatException($"{bytes.Length - r.Position} unexpected bytes after the command at byte {r.Position}");
        }

        return command;
    }

    private static CreateNode ReadCreate(ref Reader r, CommandHeader header)
    {
        var (path, data, mode, session, parents, acl, ttl) = ReadCreateBody(ref r);
        return new CreateNode(header, path, data, mode, session, parents, acl, ttl);
    }

    private static (string Path, ReadOnlyMemory<byte> Data, CreateMode Mode, long Session, bool Parents, IReadOnlyList<AclEntry>? Acl, long Ttl) ReadCreateBody(ref Reader r)
    {
        var path = r.String();
        var data = r.Data();
        var at = r.Position;
        var mode = r.Byte();
        if (mode > (byte)(r.ExtendedModes ? CreateMode.PersistentSequentialWithTtl : CreateMode.EphemeralSequential))
        {
            throw new CommandFormatException($"unknown create mode {mode} at byte {at}");
        }

        var session = r.Signed();
        var parents = r.Flag();
        var acl = r.Acls ? r.Acl() : null;
        return (path, data, (CreateMode)mode, session, parents, acl, r.ExtendedModes ? r.Signed() : 0);
    }

    private static ReapNodes ReadReapNodes(ref Reader r, CommandHeader header)
    {
        var nodes = new ReapCandidate[r.Count("reaped node count")];
        for (var i = 0; i < nodes.Length; i++)
        {
            nodes[i] = new ReapCandidate(r.String(), r.Signed(), r.Signed(), r.Signed());
        }

        return new ReapNodes(header, nodes);
    }

    private static KeepAliveMany ReadKeepAliveMany(ref Reader r, CommandHeader header)
    {
        var ids = new long[r.Count("keep-alive session count")];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = r.Signed();
        }

        return new KeepAliveMany(header, ids);
    }

    private static Transaction ReadTransaction(ref Reader r, CommandHeader header)
    {
        var ops = new TxnOp[r.Count("transaction op count")];
        for (var i = 0; i < ops.Length; i++)
        {
            var at = r.Position;
            var kind = r.Byte();
            switch ((OpKind)kind)
            {
                case OpKind.Check:
                    ops[i] = new CheckVersionOp(r.String(), r.Signed());
                    break;
                case OpKind.Create:
                    var (path, data, mode, session, parents, acl, ttl) = ReadCreateBody(ref r);
                    ops[i] = new CreateOp(path, data, mode, session, parents, acl, ttl);
                    break;
                case OpKind.SetAcl when r.Acls:
                    ops[i] = new SetAclOp(r.String(), r.Acl(), r.Signed());
                    break;
                case OpKind.Set:
                    ops[i] = new SetDataOp(r.String(), r.Data(), r.Signed());
                    break;
                case OpKind.Delete:
                    ops[i] = new DeleteOp(r.String(), r.Signed(), r.Flag());
                    break;
                default:
                    throw new CommandFormatException($"unknown transaction op kind {kind} at byte {at}");
            }
        }

        return new Transaction(header, ops);
    }

    private static bool CarriesAcl(Command command) => command switch
    {
        CreateNode c => NodeAcl.Compact(c.Acl) is not null,
        Transaction c => c.Ops.Any(o => o is SetAclOp || o is CreateOp { Acl: var acl } && NodeAcl.Compact(acl) is not null),
        _ => false,
    };

    private static bool CarriesExtendedMode(Command command) => command switch
    {
        CreateNode c => c.Mode.IsExtended() || c.TtlMs != 0,
        Transaction c => c.Ops.Any(o => o is CreateOp { Mode: var mode, TtlMs: var ttl } && (mode.IsExtended() || ttl != 0)),
        _ => false,
    };

    private static bool CarriesNullData(Command command) => command switch
    {
        CreateNode c => NodeData.IsNull(c.Data),
        SetData c => NodeData.IsNull(c.Data),
        Transaction c => c.Ops.Any(o => o is CreateOp { Data: var d } && NodeData.IsNull(d) || o is SetDataOp { Data: var e } && NodeData.IsNull(e)),
        _ => false,
    };

    private static void WriteCreate(ref Writer w, string path, ReadOnlyMemory<byte> data, CreateMode mode, long session, bool parents, IReadOnlyList<AclEntry>? acl, long ttl)
    {
        w.String(path);
        w.Data(data);
        w.Byte((byte)mode);
        w.Signed(session);
        w.Byte(parents ? (byte)1 : (byte)0);
        if (w.Acls)
        {
            w.Acl(acl);
        }

        if (w.ExtendedModes)
        {
            w.Signed(ttl);
        }
    }

    private static void WriteSet(ref Writer w, string path, ReadOnlyMemory<byte> data, long version)
    {
        w.String(path);
        w.Data(data);
        w.Signed(version);
    }

    private static void WriteDelete(ref Writer w, string path, long version, bool recursive)
    {
        w.String(path);
        w.Signed(version);
        w.Byte(recursive ? (byte)1 : (byte)0);
    }

    private static Kind KindOf(Command command) => command switch
    {
        CreateNode => Kind.Create,
        SetData => Kind.Set,
        DeleteNode => Kind.Delete,
        Transaction => Kind.Transaction,
        OpenSession => Kind.OpenSession,
        KeepAlive => Kind.KeepAlive,
        KeepAliveMany => Kind.KeepAliveMany,
        CloseSession => Kind.CloseSession,
        ExpireSessions => Kind.ExpireSessions,
        ResetSessionDeadlines => Kind.ResetSessionDeadlines,
        ReapNodes => Kind.ReapNodes,
        _ => throw new ArgumentException($"unknown command type {command.GetType().Name}", nameof(command)),
    };

    // Stored in the log: never renumber.
    private enum Kind : byte
    {
        Create = 1,
        Set = 2,
        Delete = 3,
        Transaction = 4,
        OpenSession = 5,
        KeepAlive = 6,
        CloseSession = 7,
        ExpireSessions = 8,
        ResetSessionDeadlines = 9,
        KeepAliveMany = 10,
        ReapNodes = 11,
    }

    private enum OpKind : byte
    {
        Check = 1,
        Create = 2,
        Set = 3,
        Delete = 4,
        SetAcl = 5,
    }

    private ref struct Writer(IBufferWriter<byte> output, bool nullableData, bool acls, bool extendedModes)
    {
        private readonly IBufferWriter<byte> _output = output;

        public readonly bool Acls => acls;

        public readonly bool ExtendedModes => extendedModes;

        /// <summary>Null (the open ACL) as no entries.</summary>
        public readonly void Acl(IReadOnlyList<AclEntry>? acl)
        {
            var entries = NodeAcl.Compact(acl) ?? [];
            Varint((ulong)entries.Count);
            foreach (var entry in entries)
            {
                Signed(entry.Perms);
                String(entry.Id.Scheme);
                String(entry.Id.Id);
            }
        }

        public readonly void Byte(byte value)
        {
            _output.GetSpan(1)[0] = value;
            _output.Advance(1);
        }

        public readonly void Varint(ulong value) => _output.Advance(Wire.Varint.Write(_output.GetSpan(Wire.Varint.MaxLength), value));

        public readonly void Signed(long value) => Varint(Wire.Varint.ZigZag(value));

        public readonly void Guid(Guid value)
        {
            value.TryWriteBytes(_output.GetSpan(16));
            _output.Advance(16);
        }

        public readonly void Data(ReadOnlyMemory<byte> data)
        {
            Varint(Wire.StoredData.Prefix(data, nullableData));
            if (data.Length > 0)
            {
                data.Span.CopyTo(_output.GetSpan(data.Length));
                _output.Advance(data.Length);
            }
        }

        public readonly void String(string value)
        {
            ArgumentNullException.ThrowIfNull(value);
            int length;
            try
            {
                length = Utf8.GetByteCount(value);
            }
            catch (EncoderFallbackException e)
            {
                throw new ArgumentException($"string is not valid UTF-16 and cannot be encoded: {e.Message}", nameof(value), e);
            }

            Varint((ulong)length);
            if (length > 0)
            {
                Utf8.GetBytes(value, _output.GetSpan(length));
                _output.Advance(length);
            }
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;

        public int Position { get; private set; }

        /// <summary>Data lengths are stored plus one, 0 meaning null (format versions 3 to 5).</summary>
        public bool NullableData { get; set; }

        /// <summary>Creates carry ACLs; set-ACL ops exist (format versions 5 and 6).</summary>
        public bool Acls { get; set; }

        /// <summary>Creates may be containers or TTL nodes (format version 6).</summary>
        public bool ExtendedModes { get; set; }

        public IReadOnlyList<AclEntry>? Acl()
        {
            var at = Position;
            var count = Varint();
            if (count > (ulong)Remaining)
            {
                throw new CommandFormatException($"ACL entry count {count} at byte {at} exceeds the {Remaining} bytes left");
            }

            if (count == 0)
            {
                return null;
            }

            var entries = new AclEntry[(int)count];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = new AclEntry((int)Signed(), new AclId(String(), String()));
            }

            return entries;
        }

        public readonly int Remaining => _bytes.Length - Position;

        public readonly bool AtEnd => Position == _bytes.Length;

        public byte Byte()
        {
            if (Position >= _bytes.Length)
            {
                throw Truncated();
            }

            return _bytes[Position++];
        }

        public bool Flag()
        {
            var at = Position;
            var value = Byte();
            return value switch
            {
                0 => false,
                1 => true,
                _ => throw new CommandFormatException($"flag byte {value} at byte {at} is not 0 or 1"),
            };
        }

        public ulong Varint()
        {
            var at = Position;
            switch (Wire.Varint.TryRead(_bytes[Position..], out var value, out var length))
            {
                case System.Buffers.OperationStatus.Done:
                    Position += length;
                    return value;
                case System.Buffers.OperationStatus.NeedMoreData:
                    Position = _bytes.Length;
                    throw Truncated();
                default:
                    throw new CommandFormatException($"varint at byte {at} is longer than 64 bits");
            }
        }

        public long Signed() => Wire.Varint.UnZigZag(Varint());

        /// <summary>A count of items that take at least a byte each, so it cannot promise more than is left.</summary>
        public int Count(string what)
        {
            var at = Position;
            var count = Varint();
            if (count > (ulong)Remaining)
            {
                throw new CommandFormatException($"{what} {count} at byte {at} exceeds the {Remaining} bytes left");
            }

            return (int)count;
        }

        public Guid Guid()
        {
            if (Remaining < 16)
            {
                throw Truncated();
            }

            var value = new Guid(_bytes.Slice(Position, 16));
            Position += 16;
            return value;
        }

        public ReadOnlyMemory<byte> Data()
        {
            var at = Position;
            var prefix = Varint();
            return Wire.StoredData.IsNull(prefix, NullableData) ? NodeData.Null : Slice(Wire.StoredData.Length(prefix, NullableData), at).ToArray();
        }

        public string String()
        {
            var at = Position;
            var span = Take();
            try
            {
                return Utf8.GetString(span);
            }
            catch (DecoderFallbackException)
            {
                throw new CommandFormatException($"string at byte {at} is not valid UTF-8");
            }
        }

        private ReadOnlySpan<byte> Take()
        {
            var at = Position;
            return Slice(Varint(), at);
        }

        private ReadOnlySpan<byte> Slice(ulong length, int at)
        {
            if (length > (ulong)Remaining)
            {
                throw new CommandFormatException($"length {length} at byte {at} exceeds the {Remaining} bytes left");
            }

            var span = _bytes.Slice(Position, (int)length);
            Position += (int)length;
            return span;
        }

        private readonly CommandFormatException Truncated() =>
            new($"command truncated: needed more than the {_bytes.Length} bytes given (at byte {Position})");
    }
}
