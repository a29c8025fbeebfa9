using System.Globalization;
using System.Text;

namespace Mesh.Registry.ZooKeeper;

/// <summary>What this node tells the four-letter-word commands, in ZooKeeper's formats.</summary>
internal sealed record ZkServerFacts(
    string Mode, long Zxid, int Connections, long Outstanding, int NodeCount, int WatchCount, int EphemeralCount,
    string ClientPort, ZooKeeperOptions Options, long ReceivedPackets, long SentPackets, bool Serving = true, bool ReadOnly = false);

/// <summary>
/// ZooKeeper's four-letter words: a client sends the four ASCII letters instead of a connect frame,
/// and the server answers in text and closes. The zookeeper.version line matters: kazoo's test
/// suite reads the server version from <c>envi</c>.
/// </summary>
internal static class FourLetterWords
{
    /// <summary>The ZooKeeper release whose client protocol this server speaks.</summary>
    public const string Version = "3.8.0-mesh";

    public static bool IsWord(ReadOnlySpan<byte> first4)
    {
        foreach (var b in first4)
        {
            if (b is < (byte)'a' or > (byte)'z')
                return false;
        }
        return true;
    }

    /// <summary>What ZooKeeper's server statistics words answer while it is not running (no quorum).</summary>
    public const string NotServing = "This ZooKeeper instance is not currently serving requests\n";

    public static string Answer(string word, ZkServerFacts f) => word switch
    {
        "ruok" => "imok",
        // "ro" only in read-only mode (--zk-read-only) while cut off; "null" without a quorum otherwise, as ZooKeeper answers.
        "isro" => f.Serving ? "rw" : f.ReadOnly ? "ro" : "null",
        "srvr" or "stat" or "mntr" when !f.Serving && !f.ReadOnly => NotServing,
        "srvr" => Server(f),
        "stat" => "Clients:\n\n" + Server(f),
        "mntr" => Monitor(f),
        "envi" => Invariant($"Environment:\nzookeeper.version={Version}, built on mesh\nhost.name={Environment.MachineName}\njava.version=none (.NET {Environment.Version})\nos.name={Environment.OSVersion.Platform}\nuser.dir={Environment.CurrentDirectory}\n"),
        "conf" => Invariant($"clientPort={f.ClientPort}\nminSessionTimeout={f.Options.SessionLimits.MinTimeoutMs}\nmaxSessionTimeout={f.Options.SessionLimits.MaxTimeoutMs}\njute.maxbuffer={Protocol.ZkLimits.MaxFrameBytes}\nopenMode={f.Options.Open.ToString().ToLowerInvariant()}\n"),
        _ => "",
    };

    private static string Server(ZkServerFacts f) => Invariant(
        $"Zookeeper version: {Version}\nLatency min/avg/max: 0/0.0/0\nReceived: {f.ReceivedPackets}\nSent: {f.SentPackets}\nConnections: {f.Connections}\nOutstanding: {f.Outstanding}\nZxid: 0x{f.Zxid:x}\nMode: {f.Mode}\nNode count: {f.NodeCount}\n");

    private static string Monitor(ZkServerFacts f)
    {
        var text = new StringBuilder();
        void Line(string key, object value) => text.Append(CultureInfo.InvariantCulture, $"zk_{key}\t{value}\n");
        Line("version", Version);
        Line("server_state", f.Mode);
        Line("znode_count", f.NodeCount);
        Line("watch_count", f.WatchCount);
        Line("ephemerals_count", f.EphemeralCount);
        Line("num_alive_connections", f.Connections);
        Line("outstanding_requests", f.Outstanding);
        Line("packets_received", f.ReceivedPackets);
        Line("packets_sent", f.SentPackets);
        Line("last_zxid", f.Zxid);
        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
