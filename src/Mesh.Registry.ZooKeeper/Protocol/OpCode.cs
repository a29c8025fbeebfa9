namespace Mesh.Registry.ZooKeeper.Protocol;

/// <summary>ZooKeeper's request types (<c>ZooDefs.OpCode</c>), the numbers on the wire.</summary>
public enum OpCode
{
    Notification = 0,
    Create = 1,
    Delete = 2,
    Exists = 3,
    GetData = 4,
    SetData = 5,
    GetAcl = 6,
    SetAcl = 7,
    GetChildren = 8,
    Sync = 9,
    Ping = 11,
    GetChildren2 = 12,
    Check = 13,
    Multi = 14,
    Create2 = 15,
    Reconfig = 16,
    CheckWatches = 17,
    RemoveWatches = 18,
    CreateContainer = 19,
    DeleteContainer = 20,
    CreateTtl = 21,
    MultiRead = 22,
    Auth = 100,
    SetWatches = 101,
    Sasl = 102,
    GetEphemerals = 103,
    GetAllChildrenNumber = 104,
    SetWatches2 = 105,
    AddWatch = 106,
    WhoAmI = 107,
    CreateSession = -10,
    CloseSession = -11,
    Error = -1,
}

/// <summary>The reserved request ids (xids) of packets that are not ordinary requests.</summary>
public static class Xids
{
    public const int Notification = -1;
    public const int Ping = -2;
    public const int Auth = -4;
    public const int SetWatches = -8;
}

/// <summary>Protocol-wide limits.</summary>
public static class ZkLimits
{
    /// <summary>Largest frame accepted or sent: ZooKeeper's default <c>jute.maxbuffer</c>, 1 MiB (0xfffff bytes).</summary>
    public const int MaxFrameBytes = 0xfffff;
}
