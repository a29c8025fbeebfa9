using System.Text.Json.Serialization;

namespace Mesh.Registry.Contracts;

/// <summary>
/// One line of <c>GET /v1/watch-stream</c> (newline-delimited JSON). A change event has the
/// <see cref="ChangeEvent"/> types (<c>created</c>, <c>dataChanged</c>, <c>deleted</c>,
/// <c>childrenChanged</c>) and a <see cref="Path"/>; the others are marks of the stream itself:
/// <list type="bullet">
/// <item><c>progress</c>: every matching change up to <see cref="Index"/> was sent (the node's applied index).</item>
/// <item><c>trustBundle</c>: the CA's trust bundle changed at <see cref="Index"/>; read <c>/v1/ca/root</c> again.</item>
/// <item><c>resume</c>: the last line; the node ends the stream (a reader too slow, the node
/// stopping or installing a snapshot, see <see cref="Message"/>); reconnect with <c>after=</c><see cref="Index"/>.</item>
/// </list>
/// A change of a Curator instance under another base path than <c>/services</c> also carries
/// <see cref="ServicePath"/>, the <c>/services/NAME</c> it counts as for prefix watches.
/// On a stream opened with <c>data=true</c>, a <c>created</c> or <c>dataChanged</c> record of a
/// node whose data is small also carries the node's <see cref="Data"/> (base64 in JSON) and data
/// <see cref="Version"/> after the command at <see cref="Index"/>, so the reader need not read it;
/// without them (a larger node, a record replayed from the node's history) it reads the node.
/// </summary>
public sealed record WatchStreamRecord(
    string Type, long Index, string? Path = null, string? Message = null, string? ServicePath = null,
    ReadOnlyMemory<byte>? Data = null, long? Version = null)
{
    public const string Progress = "progress";
    public const string TrustBundle = "trustBundle";
    public const string Resume = "resume";

    /// <summary>True for the four change event types, which carry a path.</summary>
    [JsonIgnore]
    public bool IsChange => Type is ChangeEvent.Created or ChangeEvent.DataChanged or ChangeEvent.Deleted or ChangeEvent.ChildrenChanged;

    /// <summary>
    /// True for a change that says all there is to it: a deletion, a children change (the
    /// children's own records say which), or a creation or data change that carries its data.
    /// </summary>
    [JsonIgnore]
    public bool IsWhole => Type is ChangeEvent.Deleted or ChangeEvent.ChildrenChanged
        || (Type is ChangeEvent.Created or ChangeEvent.DataChanged && Data is not null);
}
