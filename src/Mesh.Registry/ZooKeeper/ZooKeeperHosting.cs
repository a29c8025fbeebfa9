using System.Net;
using Mesh.Registry.Api.Access;
using Mesh.Registry.Api.Forwarding;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Consensus;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Mesh.Registry.Telemetry;
using Mesh.Registry.ZooKeeper.Forwarding;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.ZooKeeper;

/// <summary>The one hook <see cref="RegistryNode"/> calls: start the ZooKeeper port, register its shutdown, log and return the server (its <see cref="ZooKeeperServer.EndPoint"/> is where it listens).</summary>
internal static partial class ZooKeeperHosting
{
    public static async Task<ZooKeeperServer> StartAsync(ZooKeeperOptions options, IConsensus consensus, RegistryStore store, RegistryWriter writer,
        ApiTokens operators, Func<JoinTokenRegistry> joinTokens, AuthFailureLimiter authFailures, Api.Limits.RegistryLimits limits, bool claimServiceNames, string curatorBasePath, TimeProvider time, ILoggerFactory loggerFactory,
        RegistryMetrics metrics, MemberAddresses addresses, PeerClients clients, Mesh.Registry.Sessions.KeepAliveBatcher keepAlives, TimeSpan requestTimeout, Action<Func<ValueTask>> onDispose, CancellationToken cancellationToken)
    {
        var key = new ZkSessionKey(store);
        var leader = new ZkLeaderClient(consensus, writer, addresses, clients, key, time, requestTimeout);
        var server = new ZooKeeperServer(options, consensus, store, leader, keepAlives, key, new ZkCredentials(operators, joinTokens, store, limits, claimServiceNames, authFailures, curatorBasePath), time, loggerFactory, metrics);
        onDispose(server.DisposeAsync);
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        var endPoint = server.EndPoint!;
        Log.Listening(loggerFactory.CreateLogger<ZooKeeperServer>(), endPoint, options.Open ? "open (development: no authentication)" : "digest authentication with registry tokens");
        return server;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "ZooKeeper clients on {EndPoint}, access: {Access}")]
        public static partial void Listening(ILogger logger, IPEndPoint endPoint, string access);
    }
}
