using Mesh.Registry.Core.Acls;
using Mesh.Registry.Core.Dedup;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Core.Sessions;
using Mesh.Registry.Core.Snapshots;
using Mesh.Registry.Core.Tree;

namespace Mesh.Registry.Core;

// Snapshots: the whole state in a versioned binary format with a CRC-32C checksum.
//
//   "MESHSNAP" version:u32-as-varint appliedIndex:fixed64
//   sessions: count (id ttl deadline [quotaOwner])*           ascending id
//   nodes:    count root-node child*                          pre-order, children by name
//             node = [name] data version cversion cindex mindex ctime mtime owner [quotaOwner] [pindex] childCount
//   dedup:    count (clientId seq lastSeen result)*           ascending client id
//   crc32c:u32 over all of the above, then "MESHEND."
//
// Everything is written in a canonical order, so equal states give equal bytes. Per-session
// ephemeral sets are not stored: they are rebuilt from the nodes' owners; nor is quota usage.
// Version 2 added the quota owner (a string, empty for none) to sessions and nodes; version 3
// adds each node's child-modified index (ZooKeeper's pzxid) after the quota owner, and to the
// stats kept in dedup results. Versions 1 and 2 are still read: their pzxid is taken as the
// latest creation among the node and its live children, the best the old data allows. Version 4
// stores node data as (length + 1) bytes, 0 meaning null data (NodeData.Null, ZooKeeper's null).
// Version 5 adds per-node ACLs: after the nodes, the few nodes whose ACL is not the open one or
// whose ACL version is not 0 (so an open node costs no byte), and the ACL version in dedup stats:
//   acls: count (path aclVersion aclCount (perms scheme id)*)*    pre-order
// Version 6 adds container and TTL nodes: after the ACLs, the nodes that are one, and their kind
// and TTL in dedup stats:
//   kinds: count (path kind:u8 ttl)*                               ordinal path order
// The writer picks the lowest version that holds the state (3 without null data, ACLs or
// container and TTL nodes, 4 with null data, 5 with ACLs), so a registry that never used them
// stays readable by the release before.
public sealed partial class RegistryStateMachine
{
    /// <summary>The newest version of the snapshot format this build writes and reads.</summary>
    public const int SnapshotFormatVersion = 6;

    private const int SnapshotFormatWithoutKinds = 5;

    private const int SnapshotFormatWithoutAcls = 4;

    private const int SnapshotFormatWithoutOwners = 1;

    private const int SnapshotFormatWithoutChildIndex = 2;

    private const int SnapshotFormatWithoutNullData = 3;

    private static ReadOnlySpan<byte> SnapshotMagic => "MESHSNAP"u8;

    private static ReadOnlySpan<byte> SnapshotEndMagic => "MESHEND."u8;

    /// <summary>Writes the whole state to <paramref name="stream"/> (which stays open), in the lowest format that holds it.</summary>
    public void WriteSnapshot(Stream stream) => WriteSnapshot(stream, LowestSnapshotFormat());

    /// <summary>The format <see cref="WriteSnapshot(Stream)"/> writes: 6 with container or TTL nodes (or such stats kept for replay), 5 once ACLs were used, 4 with null data, else 3.</summary>
    internal int LowestSnapshotFormat()
    {
        if (_reapable.Count > 0 || _dedup.Sorted().Any(c => KeepsKind(c.Value.Result)))
        {
            return SnapshotFormatVersion;
        }

        if (AclsInUse)
        {
            return SnapshotFormatWithoutKinds;
        }

        foreach (var node in _nodes.Values)
        {
            if (NodeData.IsNull(node.Data))
            {
                return SnapshotFormatWithoutAcls;
            }
        }

        return SnapshotFormatWithoutNullData;
    }

    /// <summary>Writes an older format (tests prove old snapshots still restore); format 1 drops quota owners, 1 and 2 drop pzxid, 1 to 3 write null data as empty, 1 to 4 drop ACLs, 1 to 5 drop container and TTL kinds.</summary>
    internal void WriteSnapshot(Stream stream, int format)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var w = new SnapshotWriter(stream);
        var owners = format != SnapshotFormatWithoutOwners;
        var childIndex = format >= SnapshotFormatWithoutNullData;
        var nullable = format >= SnapshotFormatWithoutAcls;
        var acls = format >= SnapshotFormatWithoutKinds;
        var kinds = format == SnapshotFormatVersion;
        w.Raw(SnapshotMagic);
        w.Varint((ulong)format);
        w.Fixed64(AppliedIndex);

        var sessions = GetSessions();
        w.Varint((ulong)sessions.Count);
        foreach (var s in sessions)
        {
            w.Signed(s.Id);
            w.Signed(s.TtlMs);
            w.Signed(s.DeadlineMs);
            if (owners)
            {
                w.String(_sessions[s.Id].Owner ?? string.Empty);
            }
        }

        w.Varint((ulong)_nodes.Count);
        WriteNode(w, _nodes[NodePath.Root], isRoot: true, owners, childIndex, nullable);
        if (acls)
        {
            WriteAcls(w);
        }

        if (kinds)
        {
            WriteKinds(w);
        }

        var clients = _dedup.Sorted();
        w.Varint((ulong)clients.Count);
        foreach (var (client, entry) in clients)
        {
            w.Guid(client);
            w.Signed(entry.Sequence);
            w.Signed(entry.LastSeenMs);
            ApplyResultCodec.Write(w, entry.Result, childIndex, acls, kinds);
        }

        w.Finish(SnapshotEndMagic);
    }

    /// <summary>
    /// Restores a state written by <see cref="WriteSnapshot"/>. Throws
    /// <see cref="SnapshotFormatException"/> when the stream is not a snapshot, is of a newer
    /// format, is truncated or fails its checksum; nothing is returned in that case.
    /// </summary>
    public static RegistryStateMachine ReadSnapshot(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var r = new SnapshotReader(stream);
        r.Magic(SnapshotMagic, "magic");
        var version = r.Varint();
        if (version is not (SnapshotFormatWithoutOwners or SnapshotFormatWithoutChildIndex or SnapshotFormatWithoutNullData or SnapshotFormatWithoutAcls or SnapshotFormatWithoutKinds or SnapshotFormatVersion))
        {
            throw new SnapshotFormatException(
                $"unsupported snapshot format version {version} (this build reads {SnapshotFormatWithoutOwners} to {SnapshotFormatVersion}), or the snapshot is corrupted");
        }

        var owners = version != SnapshotFormatWithoutOwners ? new Dictionary<string, string>(StringComparer.Ordinal) : null;
        var childIndex = version >= SnapshotFormatWithoutNullData;
        var nullable = version >= SnapshotFormatWithoutAcls;
        var acls = version >= SnapshotFormatWithoutKinds;
        var kinds = version == SnapshotFormatVersion;
        var sm = new RegistryStateMachine { AppliedIndex = r.Fixed64(), AclsInUse = acls };
        var sessionCount = r.Count(int.MaxValue, "session count");
        for (var i = 0; i < sessionCount; i++)
        {
            var id = r.Signed();
            var session = new Session(id, r.Signed(), r.Signed(), ReadOwner(r, owners));
            if (!sm._sessions.TryAdd(id, session))
            {
                throw r.Corrupt($"session {id} appears twice");
            }
        }

        var nodeCount = r.Count(int.MaxValue, "node count");

        // Presizing saves rehashing a million entries; a node takes at least 10 bytes, which
        // bounds what a corrupted count can make us reserve.
        var plausible = stream.CanSeek ? Math.Max(0, (stream.Length - stream.Position) / 10) : 1 << 20;
        sm._nodes.EnsureCapacity((int)Math.Min(nodeCount, plausible));
        sm.ReadNodes(r, nodeCount, owners, childIndex, nullable);
        if (acls)
        {
            sm.ReadAcls(r);
        }

        if (kinds)
        {
            sm.ReadKinds(r);
        }

        sm.RecountUsage();

        var clientCount = r.Count(int.MaxValue, "client count");
        for (var i = 0; i < clientCount; i++)
        {
            var client = r.Guid();
            var entry = new DedupTable.Entry(r.Signed(), r.Signed(), ApplyResultCodec.Read(r, childIndex, acls, kinds));
            sm._dedup.Add(client, entry);
        }

        r.VerifyChecksum();
        r.Magic(SnapshotEndMagic, "end marker");
        if (!r.AtEndOfStream())
        {
            throw r.Corrupt("unexpected bytes after the end marker");
        }

        return sm;
    }

    // Quota owners are few and repeated on many nodes: one string per owner is kept.
    private static string? ReadOwner(SnapshotReader r, Dictionary<string, string>? owners)
    {
        if (owners is null)
        {
            return null;
        }

        var owner = r.String(NodePath.MaxLength * 3);
        if (owner.Length == 0)
        {
            return null;
        }

        if (!owners.TryGetValue(owner, out var shared))
        {
            owners.Add(owner, shared = owner);
        }

        return shared;
    }

    private static void WriteNode(SnapshotWriter w, Node node, bool isRoot, bool owners, bool childIndex, bool nullable)
    {
        if (!isRoot)
        {
            w.String(node.Name);
        }

        w.Data(node.Data, nullable);

        w.Signed(node.Version);
        w.Signed(node.ChildVersion);
        w.Signed(node.CreatedIndex);
        w.Signed(node.ModifiedIndex);
        w.Signed(node.CreatedTime);
        w.Signed(node.ModifiedTime);
        w.Signed(node.EphemeralOwner);
        if (owners)
        {
            w.String(node.Owner ?? string.Empty);
        }

        if (childIndex)
        {
            w.Signed(node.ChildModifiedIndex);
        }

        w.Varint((ulong)node.ChildCount);
        if (node.Children is { } children)
        {
            foreach (var child in children)
            {
                WriteNode(w, child, isRoot: false, owners, childIndex, nullable);
            }
        }
    }

    private void ReadNodes(SnapshotReader r, int nodeCount, Dictionary<string, string>? owners, bool childIndex, bool nullable)
    {
        if (nodeCount < 1)
        {
            throw r.Corrupt("the tree has no root");
        }

        var root = _nodes[NodePath.Root];
        var rootChildren = ReadNodeFields(r, root, owners, childIndex, nullable);
        var read = 1;
        var stack = new Stack<(string Path, Node Node, int Left)>();
        stack.Push((NodePath.Root, root, rootChildren));
        while (stack.Count > 0)
        {
            var (parentPath, parent, left) = stack.Pop();
            if (left == 0)
            {
                continue;
            }

            stack.Push((parentPath, parent, left - 1));
            if (++read > nodeCount)
            {
                throw r.Corrupt($"more nodes than the {nodeCount} announced");
            }

            var name = r.String(NodePath.MaxLength * 3);
            var node = new Node(name);
            var children = ReadNodeFields(r, node, owners, childIndex, nullable);
            var path = NodePath.Combine(parentPath, name);
            if (parent.EphemeralOwner != 0 || !NodePath.IsValid(path) || !_nodes.TryAdd(path, node))
            {
                throw r.Corrupt($"node {path} is invalid, duplicated or under an ephemeral node");
            }

            var siblings = parent.Children ??= new List<Node>(Math.Min(left, 4096));
            if (siblings.Count > 0 && string.CompareOrdinal(siblings[^1].Name, name) >= 0)
            {
                throw r.Corrupt($"children of {parentPath} are not in name order");
            }

            siblings.Add(node);
            if (!childIndex)
            {
                parent.ChildModifiedIndex = Math.Max(parent.ChildModifiedIndex, node.CreatedIndex);
            }
            if (node.EphemeralOwner != 0)
            {
                if (!_sessions.TryGetValue(node.EphemeralOwner, out var owner))
                {
                    throw r.Corrupt($"node {path} is owned by unknown session {node.EphemeralOwner}");
                }

                owner.Ephemerals.Add(path);
            }

            stack.Push((path, node, children));
        }

        if (read != nodeCount)
        {
            throw r.Corrupt($"{read} nodes instead of the {nodeCount} announced");
        }
    }

    private static int ReadNodeFields(SnapshotReader r, Node node, Dictionary<string, string>? owners, bool childIndex, bool nullable)
    {
        node.Data = r.Data(NodeLimits.MaxDataBytes, nullable);
        node.Version = r.Signed();
        node.ChildVersion = r.Signed();
        node.CreatedIndex = r.Signed();
        node.ModifiedIndex = r.Signed();
        node.CreatedTime = r.Signed();
        node.ModifiedTime = r.Signed();
        node.EphemeralOwner = r.Signed();
        node.Owner = ReadOwner(r, owners);
        node.ChildModifiedIndex = childIndex ? r.Signed() : node.CreatedIndex;
        return r.Count(int.MaxValue, "child count");
    }

    // Pre-order, children by name, as the nodes: equal states give equal bytes.
    private void WriteAcls(SnapshotWriter w)
    {
        var kept = new List<(string Path, Node Node)>();
        var pending = new Stack<(string Path, Node Node)>();
        pending.Push((NodePath.Root, _nodes[NodePath.Root]));
        while (pending.Count > 0)
        {
            var (path, node) = pending.Pop();
            if (node.Acl is not null || node.AclVersion != 0)
            {
                kept.Add((path, node));
            }

            for (var i = node.ChildCount - 1; i >= 0; i--)
            {
                var child = node.Children![i];
                pending.Push((NodePath.Combine(path, child.Name), child));
            }
        }

        w.Varint((ulong)kept.Count);
        foreach (var (path, node) in kept)
        {
            w.String(path);
            w.Signed(node.AclVersion);
            var acl = node.Acl ?? [];
            w.Varint((ulong)acl.Count);
            foreach (var entry in acl)
            {
                w.Signed(entry.Perms);
                w.String(entry.Id.Scheme);
                w.String(entry.Id.Id);
            }
        }
    }

    private void ReadAcls(SnapshotReader r)
    {
        var count = r.Count(_nodes.Count, "ACL count");
        for (var i = 0; i < count; i++)
        {
            var path = r.String(NodePath.MaxLength * 3);
            if (!_nodes.TryGetValue(path, out var node))
            {
                throw r.Corrupt($"ACL of unknown node {path}");
            }

            node.AclVersion = r.Signed();
            var entries = new AclEntry[r.Count(1 << 16, "ACL entry count")];
            for (var j = 0; j < entries.Length; j++)
            {
                entries[j] = new AclEntry((int)r.Signed(), new AclId(r.String(1 << 16), r.String(1 << 16)));
            }

            node.Acl = entries.Length == 0 ? null : entries;
        }
    }

    private static bool KeepsKind(ApplyResult result) =>
        KeepsKind(result.Stat) || result.OpResults.Any(o => KeepsKind(o.Stat));

    private static bool KeepsKind(NodeStat stat) => stat.Kind != NodeKind.Plain || stat.TtlMs != 0;

    private void WriteKinds(SnapshotWriter w)
    {
        w.Varint((ulong)_reapable.Count);
        foreach (var path in _reapable)
        {
            var node = _nodes[path];
            w.String(path);
            w.Byte((byte)node.Kind);
            w.Signed(node.TtlMs);
        }
    }

    private void ReadKinds(SnapshotReader r)
    {
        var count = r.Count(_nodes.Count, "container and TTL node count");
        for (var i = 0; i < count; i++)
        {
            var path = r.String(NodePath.MaxLength * 3);
            var kind = r.Byte();
            var ttl = r.Signed();
            if (!_nodes.TryGetValue(path, out var node) || path.Length == 1 || node.EphemeralOwner != 0 || node.Kind != NodeKind.Plain)
            {
                throw r.Corrupt($"container or TTL node {path} is unknown, the root, ephemeral or listed twice");
            }

            var valid = (NodeKind)kind switch
            {
                NodeKind.Container => ttl == 0,
                NodeKind.Ttl => NodeReaping.ValidTtl(CreateMode.PersistentWithTtl, ttl),
                _ => false,
            };
            if (!valid)
            {
                throw r.Corrupt($"node {path} has kind {kind} with TTL {ttl}");
            }

            node.Kind = (NodeKind)kind;
            node.TtlMs = ttl;
            _reapable.Add(path);
        }
    }
}
