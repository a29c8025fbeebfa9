namespace Mesh.Registry.ZooKeeper.Protocol;

/// <summary><c>Watcher.Event.EventType</c>.</summary>
public enum WatcherEventType
{
    None = -1,
    NodeCreated = 1,
    NodeDeleted = 2,
    NodeDataChanged = 3,
    NodeChildrenChanged = 4,
    DataWatchRemoved = 5,
    ChildWatchRemoved = 6,
    PersistentWatchRemoved = 7,
}

/// <summary><c>Watcher.Event.KeeperState</c>.</summary>
public enum KeeperState
{
    Disconnected = 0,
    SyncConnected = 3,
    AuthFailed = 4,
    ConnectedReadOnly = 5,
    SaslAuthenticated = 6,
    Expired = -112,
    Closed = 7,
}

/// <summary><c>AddWatchMode</c> of an addWatch request.</summary>
public enum AddWatchMode
{
    Persistent = 0,
    PersistentRecursive = 1,
}

/// <summary><c>Watcher.WatcherType</c> of checkWatches and removeWatches.</summary>
public enum WatcherType
{
    Children = 1,
    Data = 2,
    Any = 3,
    Persistent = 4,
    PersistentRecursive = 5,
}

/// <summary>The create flags (<c>CreateMode.toFlag</c>).</summary>
public enum ZkCreateFlags
{
    Persistent = 0,
    Ephemeral = 1,
    PersistentSequential = 2,
    EphemeralSequential = 3,
    Container = 4,
    PersistentWithTtl = 5,
    PersistentSequentialWithTtl = 6,
}
