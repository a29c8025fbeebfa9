using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Paths;
using Mesh.Registry.Hosting;

namespace Mesh.Cli.Commands;

/// <summary><c>mesh registry</c>: runs one registry node until Ctrl+C or SIGTERM.</summary>
internal static class RegistryCommand
{
    public const int StartupFailed = 2;

    public static Command Create()
    {
        var id = new Option<int>("--id") { Description = "This node's id: one of the ids in --peers.", Required = true };
        var peers = new Option<string?>("--peers")
        {
            Description = "The static voting members, this node included: id=raftHost:port,... (1, 3 or 5), each the Raft address "
                + "the other members reach it at (and know it by). Each node publishes its own client address to the others; an "
                + "optional @clientHost:port per member overrides that. Omit for a single-node registry.",
        };
        var listenPeer = new Option<string?>("--listen-peer")
        {
            Description = "host:port the Raft transport listens on (e.g. 0.0.0.0:7101), when it differs from this node's --peers address "
                + "(a relay or NAT in front of it). Port 0: a port the system chooses, named in the start-up line. "
                + "fd:N: a listening socket the launcher bound and passed as file descriptor N (several nodes on one host, each on port 0).",
        };
        var data = new Option<string>("--data") { Description = "Data directory (write-ahead log, snapshots). Created if missing.", Required = true };
        var client = new Option<string>("--client")
        {
            Description = "host:port of the HTTP client API (and /metrics, /healthz, /readyz). Port 0: a port the system chooses, named in the start-up line and published to the other members.",
            DefaultValueFactory = _ => "127.0.0.1:7001",
        };
        var advertiseClient = new Option<string?>("--advertise-client")
        {
            Description = "host:port of the client API as the other members reach it; published to them so followers can forward "
                + "to this node when it leads. Default: --client, unless that is 0.0.0.0 or [::].",
        };
        var snapshotEvery = new Option<long>("--snapshot-every")
        {
            Description = "Log entries between automatic snapshots.",
            DefaultValueFactory = _ => 20_000,
        };
        var snapshotKeep = new Option<long>("--snapshot-keep")
        {
            Description = "Log entries kept behind each snapshot when the log is compacted (registry's own log only): a follower at most "
                + "this far behind is sent entries instead of the whole snapshot, and keeps its watch history and ZooKeeper sessions. "
                + "0 to 1,000,000; docs/registry.md \"Snapshots\".",
            DefaultValueFactory = _ => Mesh.Registry.Consensus.SnapshotTail.Default,
        };

        var raftLog = new Option<string>("--raft-log")
        {
            Description = "Raft log: auto (mesh for an empty data directory, otherwise the log that wrote it), mesh (the registry's own, "
                + "one disk sync per group of writes) or dotnext (DotNext's write-ahead log). mesh and dotnext refuse the other's directory; "
                + "docs/registry.md \"Upgrading\".",
            DefaultValueFactory = _ => Mesh.Registry.Consensus.RaftLogKinds.Default.ToString().ToLowerInvariant(),
        };

        var trustDomain = new Option<string>("--trust-domain")
        {
            Description = "Trust domain of the mesh CA the cluster creates on first start (SPIFFE ids spiffe://DOMAIN/ns/NS/sa/SERVICE).",
            DefaultValueFactory = _ => "mesh.local",
        };
        var certLifetime = new Option<string>("--cert-lifetime")
        {
            Description = "Lifetime of workload certificates: 30s, 15m, 24h, 7d (1s .. 30d).",
            DefaultValueFactory = _ => "24h",
        };
        var joinToken = new Option<string[]>("--join-token")
        {
            Description = "A join token sidecars present to get certificates: NAMESPACE[/SERVICE]=TOKEN (16+ characters). Repeatable. "
                + "Stored only as a salted hash, replicated to every node.",
            AllowMultipleArgumentsPerToken = false,
        };
        var joinTokensFile = new Option<string?>("--join-tokens-file")
        {
            Description = "A file of join tokens, one NAMESPACE[/SERVICE]=TOKEN per line ('#' comments).",
        };

        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate (chain) to serve the client API over TLS; needs --tls-key." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert." };
        var tlsCa = new Option<string?>("--tls-ca")
        {
            Description = "PEM roots the other nodes' client certificates chain to, for forwarding to the leader over TLS (default: the system's roots).",
        };
        var apiToken = new Option<string[]>("--api-token")
        {
            Description = "An operator token for the client API: admin=TOKEN or read=TOKEN (16+ characters). Repeatable. "
                + "With any, every request but health, the CA root and certificate signing needs Authorization: Bearer TOKEN "
                + "(an operator token, or a sidecar's join token).",
            AllowMultipleArgumentsPerToken = false,
        };
        var apiTokensFile = new Option<string?>("--api-tokens-file") { Description = "A file of operator tokens, one admin=TOKEN or read=TOKEN per line ('#' comments)." };
        var serviceClaims = new Option<string>("--service-claims")
        {
            Description = "Who may claim a service name nobody owns yet (secure naming, docs/security.md): first-use (the first join token "
                + "to register it claims it for its namespace) or admin (only `mesh ctl owner claim`).",
            DefaultValueFactory = _ => "first-use",
        };
        serviceClaims.AcceptOnlyFromAmong("first-use", "admin");
        var curatorBasePath = new Option<string>("--curator-base-path")
        {
            Description = "Where apps registering the Apache Curator service-discovery way keep BASE/NAME/ID instance nodes "
                + "(Curator's basePath, docs/zookeeper.md); they are listed as instances of NAME.",
            DefaultValueFactory = _ => "/services",
        };

        var clusterKeyFile = new Option<string?>(Mesh.Registry.PeerTls.ClusterKey.Flag)
        {
            Description = "A file holding the cluster key (base64 of 32+ random bytes; make one with `mesh registry keygen`), the same on every "
                + "node: peer connections run mutual TLS 1.3 with credentials derived from it, and nothing without it gets past the handshake. "
                + "Required when the peer port can be reached from other hosts (docs/security.md, \"The peer port\").",
        };
        var insecurePeers = new Option<bool>(Mesh.Registry.PeerTls.PeerExposure.InsecureFlag)
        {
            Description = "Run a peer port that other hosts can reach without a cluster key: no authentication, no encryption.",
        };

        var command = new Command("registry", "Run one node of the replicated registry cluster.")
        {
            id, peers, listenPeer, data, client, advertiseClient, snapshotEvery, snapshotKeep, raftLog, trustDomain, certLifetime, joinToken, joinTokensFile,
            tlsCert, tlsKey, tlsCa, apiToken, apiTokensFile, serviceClaims, curatorBasePath, clusterKeyFile, insecurePeers,
        };
        command.Subcommands.Add(KeygenCommand.Create());
        var limits = new RegistryLimitOptions();
        limits.AddTo(command);
        var zooKeeper = new ZooKeeperOptionSet();
        zooKeeper.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            RegistryNode node;
            try
            {
                var members = parseResult.GetValue(peers) is { Length: > 0 } text ? ClusterMember.ParseList(text) : [];
                var clientText = parseResult.GetValue(client)!;
                if (!IPEndPoint.TryParse(clientText, out var clientEndPoint) || (clientEndPoint.Port == 0 && !clientText.EndsWith(":0", StringComparison.Ordinal)))
                    throw new FormatException($"--client '{clientText}' is not an IP address with a port");
                node = new RegistryNode(new RegistryNodeOptions
                {
                    Id = parseResult.GetValue(id),
                    Members = members,
                    DataDirectory = parseResult.GetValue(data)!,
                    ClientEndPoint = clientEndPoint,
                    AdvertisedClientEndPoint = EndPointOption("--advertise-client", parseResult.GetValue(advertiseClient)),
                    PeerListenEndPoint = InheritedDescriptor(parseResult.GetValue(listenPeer)) is null ? EndPointOption("--listen-peer", parseResult.GetValue(listenPeer), allowAnyPort: true) : null,
                    PeerListener = InheritedDescriptor(parseResult.GetValue(listenPeer)) is { } descriptor ? InheritedListener(descriptor) : null,
                    SnapshotEvery = Math.Max(100, parseResult.GetValue(snapshotEvery)),
                    SnapshotKeep = parseResult.GetValue(snapshotKeep),
                    RaftLog = Mesh.Registry.Consensus.RaftLogKinds.Parse(parseResult.GetValue(raftLog)) ?? Mesh.Registry.Consensus.RaftLogKinds.Default,
                    TrustDomain = parseResult.GetValue(trustDomain)!,
                    CertificateLifetime = ParseLifetime(parseResult.GetValue(certLifetime)!),
                    JoinTokens = ReadTokens("--join-token", parseResult.GetValue(joinToken) ?? [], parseResult.GetValue(joinTokensFile), JoinTokenGrant.Parse, JoinTokenGrant.ParseFile),
                    ApiTokens = ReadTokens("--api-token", parseResult.GetValue(apiToken) ?? [], parseResult.GetValue(apiTokensFile), ApiTokenGrant.Parse, ApiTokenGrant.ParseFile),
                    TlsCertificate = ReadTlsCertificate(parseResult.GetValue(tlsCert), parseResult.GetValue(tlsKey)),
                    TlsTrust = parseResult.GetValue(tlsCa) is { } caFile ? ReadTlsTrust(caFile) : [],
                    Limits = limits.Read(parseResult),
                    ClaimServiceNamesOnFirstUse = parseResult.GetValue(serviceClaims) != "admin",
                    ZooKeeper = zooKeeper.Read(parseResult),
                    Reaper = zooKeeper.ReadReaper(parseResult),
                    CuratorBasePath = Mesh.Registry.Api.Services.CuratorInstances.CheckBasePath(parseResult.GetValue(curatorBasePath)),
                    ClusterKey = parseResult.GetValue(clusterKeyFile) is { } keyFile ? Mesh.Registry.PeerTls.ClusterKey.ReadFile(keyFile) : null,
                    InsecurePeerTransport = parseResult.GetValue(insecurePeers),
                });
                await node.StartAsync(cancellationToken);
            }
            catch (Exception e) when (e is StartupException or FormatException)
            {
                await error.WriteLineAsync($"mesh registry: {e.Message}");
                return StartupFailed;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }

            await using (node)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C / SIGTERM: stop cleanly.
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>N of <c>--listen-peer fd:N</c>; null for an address.</summary>
    private static int? InheritedDescriptor(string? text)
    {
        if (text is null || !text.StartsWith("fd:", StringComparison.Ordinal))
            return null;
        return int.TryParse(text.AsSpan(3), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var fd) && fd >= 3
            ? fd
            : throw new FormatException($"--listen-peer '{text}' is not fd:N with N a file descriptor number of 3 or more");
    }

    private static BoundListener InheritedListener(int descriptor)
    {
        try
        {
            return BoundListener.Inherited(descriptor);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"--listen-peer fd:{descriptor}: {e.Message}", e);
        }
    }

    private static IPEndPoint? EndPointOption(string name, string? text, bool allowAnyPort = false)
    {
        if (text is null)
            return null;
        if (!IPEndPoint.TryParse(text, out var endPoint) || (endPoint.Port == 0 && !(allowAnyPort && text.EndsWith(":0", StringComparison.Ordinal))))
            throw new FormatException($"{name} '{text}' is not an IP address with a port");
        return endPoint;
    }

    internal static X509Certificate2? ReadTlsCertificate(string? certFile, string? keyFile)
    {
        if (certFile is null && keyFile is null)
            return null;
        if (certFile is null || keyFile is null)
            throw new FormatException("--tls-cert and --tls-key go together");
        try
        {
            return X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new FormatException($"cannot load the TLS certificate from --tls-cert '{certFile}' and --tls-key '{keyFile}': {e.Message}", e);
        }
    }

    private static X509Certificate2Collection ReadTlsTrust(string file)
    {
        try
        {
            return Mesh.Registry.Contracts.TlsTrust.ReadPemFile(file);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"--tls-ca: {e.Message}", e);
        }
    }

    /// <summary>Tokens from a repeatable flag and an optional file; errors name the flag or the file and line, never the token.</summary>
    private static IReadOnlyList<T> ReadTokens<T>(string flagName, string[] flags, string? file, Func<string, T> parse, Func<string, IReadOnlyList<T>> parseFile)
    {
        var grants = new List<T>();
        foreach (var flag in flags)
        {
            try
            {
                grants.Add(parse(flag));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{flagName}: {e.Message}", e);
            }
        }
        if (file is not null)
            grants.AddRange(parseFile(file));
        return grants;
    }

    /// <summary>A duration as every flag takes it (<see cref="DurationOption"/>); the node checks the range when it starts.</summary>
    internal static TimeSpan ParseLifetime(string text)
    {
        var (value, error) = DurationOption.Parse("--cert-lifetime", text, TimeSpan.FromMilliseconds(1));
        return error is null ? value : throw new FormatException(error);
    }
}
