using Mesh.Registry.Core.Results;
using Mesh.Registry.ZooKeeper.Protocol;

namespace Mesh.Registry.ZooKeeper.Sessions;

/// <summary>The registry core's outcome codes as ZooKeeper's.</summary>
public static class ZkErrors
{
    public static ZkError From(ErrorCode code) => code switch
    {
        ErrorCode.Ok => ZkError.Ok,
        ErrorCode.NoNode => ZkError.NoNode,
        ErrorCode.NodeExists => ZkError.NodeExists,
        ErrorCode.BadVersion => ZkError.BadVersion,
        ErrorCode.NotEmpty => ZkError.NotEmpty,
        ErrorCode.NoChildrenForEphemerals => ZkError.NoChildrenForEphemerals,
        ErrorCode.SessionExpired => ZkError.SessionExpired,
        // ZooKeeper refuses bad paths and oversize data as bad arguments.
        ErrorCode.InvalidPath or ErrorCode.DataTooLarge => ZkError.BadArguments,
        ErrorCode.RolledBack => ZkError.RuntimeInconsistency,
        ErrorCode.NoAuth => ZkError.NoAuth,
        ErrorCode.NodeQuotaExceeded or ErrorCode.ByteQuotaExceeded or ErrorCode.SessionQuotaExceeded => ZkError.QuotaExceeded,
        _ => ZkError.SystemError,
    };
}
