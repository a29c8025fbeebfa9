// The mesh CA as a registry node runs it. Bootstrap: whenever this node becomes leader it makes
// sure /mesh/ca/material exists, creating a self-signed root if not, with a replicated create, so
// two leaders racing are settled by the state machine (the second create gets NodeExists), and
// writes the hashed join tokens it was started with under /mesh/ca/tokens. Every node reads the
// material and tokens from its own replicated state, so any node can sign. Nothing here is
// reachable through the node API: RegistryApi refuses every path under /mesh/ca.
using Mesh.Common.Time;
using Mesh.Registry.Consensus;
using Mesh.Registry.Core.Commands;
using Mesh.Registry.Core.Results;
using Mesh.Registry.Hosting;
using Mesh.Registry.Storage;
using Microsoft.Extensions.Logging;

namespace Mesh.Registry.CertificateAuthority;

internal sealed partial class RegistryCertificateAuthority : IAsyncDisposable
{
    public const string CaRoot = "/mesh/ca";
    public const string MaterialPath = CaRoot + "/material";
    public const string TokensPath = CaRoot + "/tokens";
    public const string RevokedPath = CaRoot + "/revoked";

    private static readonly TimeSpan FollowerPoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly IConsensus _consensus;
    private readonly RegistryStore _store;
    private readonly RegistryWriter _writer;
    private readonly string _trustDomain;
    private readonly IReadOnlyList<(JoinTokenGrant Grant, JoinTokenRecord Record)> _configured;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _cacheLock = new();
    private readonly List<MeshCertificateAuthority> _loaded = [];
    private (long ModifiedIndex, MeshCertificateAuthority? Ca) _material = (-1, null);
    private ((long, long, long, long) Key, JoinTokenRegistry Tokens) _tokens = ((-1, -1, -1, -1), JoinTokenRegistry.Empty);
    private Task? _loop;

    public RegistryCertificateAuthority(
        IConsensus consensus, RegistryStore store, RegistryWriter writer, string trustDomain, TimeSpan lifetime,
        IReadOnlyList<JoinTokenGrant> grants, TimeProvider time, ILogger logger)
    {
        _consensus = consensus;
        _store = store;
        _writer = writer;
        _trustDomain = trustDomain;
        _logger = logger;
        CertificateLifetime = lifetime;
        Time = time;
        // Hashed once: the clear tokens are not kept past this point.
        _configured = [.. grants.Select(g => (g, JoinTokens.Hash(g.Token, g.Scope, RecordId(g.Scope))))];
        Local = new JoinTokenRegistry(_configured.Select(c => c.Record));
    }

    public TimeSpan CertificateLifetime { get; }

    public TimeProvider Time { get; }

    /// <summary>The tokens this node was started with (also honoured before they are replicated).</summary>
    public JoinTokenRegistry Local { get; }

    /// <summary>True when <paramref name="path"/> is /mesh/ca or below it.</summary>
    public static bool IsCaPath(string path) =>
        path == CaRoot || path.StartsWith(CaRoot + "/", StringComparison.Ordinal);

    /// <summary>True when deleting <paramref name="path"/> (recursively) could remove /mesh/ca.</summary>
    public static bool ContainsCaPath(string path) => path is "/" or "/mesh" || IsCaPath(path);

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>The CA loaded from this node's replicated state (null until the leader created it), and the join tokens.</summary>
    public (MeshCertificateAuthority? Ca, JoinTokenRegistry Tokens) Current()
    {
        var (material, tokensStat, revokedStat) = _store.Read(s => (s.GetNode(MaterialPath), s.GetNode(TokensPath), s.GetNode(RevokedPath)));
        lock (_cacheLock)
        {
            if (material.IsOk && material.Stat.ModifiedIndex != _material.ModifiedIndex)
            {
                var ca = MeshCertificateAuthority.FromMaterial(CaMaterial.FromBytes(material.Data.Span));
                _loaded.Add(ca); // not disposed while requests may still sign with it; kept until the node stops
                _material = (material.Stat.ModifiedIndex, ca);
                Log.Loaded(_logger, ca.TrustDomain, material.Stat.ModifiedIndex);
            }

            var key = (
                tokensStat.IsOk ? tokensStat.Stat.CreatedIndex : 0L, tokensStat.IsOk ? tokensStat.Stat.ChildVersion : 0L,
                revokedStat.IsOk ? revokedStat.Stat.CreatedIndex : 0L, revokedStat.IsOk ? revokedStat.Stat.ChildVersion : 0L);
            if (key != _tokens.Key)
                _tokens = (key, new JoinTokenRegistry([.. ReadReplicatedTokens(), .. Local.Records], ReadReplicatedTokens(RevokedPath)));
            return (_material.Ca, _tokens.Tokens);
        }
    }

    private List<JoinTokenRecord> ReadReplicatedTokens(string parent = TokensPath) => _store.Read(s =>
    {
        var records = new List<JoinTokenRecord>();
        var children = s.GetChildren(parent);
        if (!children.IsOk)
            return records;
        foreach (var name in children.Children)
        {
            var node = s.GetNode(parent + "/" + name);
            if (!node.IsOk)
                continue;
            try
            {
                records.Add(JoinTokenRecord.FromBytes(node.Data.Span));
            }
            catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
            {
                Log.BadTokenRecord(_logger, name, e.Message);
            }
        }

        return records;
    });

    private Task RunAsync(CancellationToken stop) =>
        LeadershipLoop.RunAsync(_consensus, async leading =>
        {
            await EnsureAsync(leading).ConfigureAwait(false);
            await Task.Delay(Timeout.Infinite, leading).ConfigureAwait(false);
        }, new RetryLoop(Backoff.Constant(RetryDelay), Time), FollowerPoll, Time, e => Log.BootstrapFailed(_logger, e.Message), stop);

    /// <summary>On the leader: creates the CA material if missing and replicates the configured join tokens.</summary>
    private async Task EnsureAsync(CancellationToken leading)
    {
        var existing = _store.Read(s => s.GetNode(MaterialPath));
        if (!existing.IsOk)
        {
            using var created = MeshCertificateAuthority.CreateRoot(_trustDomain, Time.GetUtcNow());
            var result = await _writer.WriteAsync(
                new CreateNode(_writer.Header(), MaterialPath, created.ToMaterial().ToBytes(), CreateParents: true), leading).ConfigureAwait(false);
            if (result.IsOk)
                Log.Created(_logger, _trustDomain, result.Index);
            else if (result.Error != ErrorCode.NodeExists)
                Log.BootstrapFailed(_logger, $"creating {MaterialPath}: {result.Error}");
        }
        else if (CaMaterial.FromBytes(existing.Data.Span).TrustDomain is var stored && stored != _trustDomain)
        {
            Log.TrustDomainDiffers(_logger, stored, _trustDomain);
        }

        if (_configured.Count == 0)
            return;
        var replicated = ReadReplicatedTokens();
        var revoked = new JoinTokenRegistry([], ReadReplicatedTokens(RevokedPath));
        foreach (var (grant, record) in _configured)
        {
            // A revoked token stays revoked even while a node is still started with its flag.
            if (revoked.IsRevoked(grant.Token) || replicated.Any(r => r.Scope == grant.Scope && r.Matches(grant.Token)))
                continue;
            var result = await _writer.WriteAsync(
                new CreateNode(_writer.Header(), $"{TokensPath}/{record.Id}", record.ToBytes(), CreateParents: true), leading).ConfigureAwait(false);
            if (result.IsOk)
                Log.TokenStored(_logger, record.Id, grant.Scope.ToString());
        }
    }

    /// <summary>
    /// On the leader: revokes <paramref name="token"/> for good. One transaction stores a salted
    /// hash of it under <see cref="RevokedPath"/> and deletes every record that holds it.
    /// Returns how many records were removed, or null when no record, flag or earlier revocation
    /// knows the token.
    /// </summary>
    public async Task<(int Removed, long Index)?> RevokeAsync(string token, CancellationToken cancellationToken)
    {
        var (_, current) = Current();
        var matching = ReadReplicatedTokens().Where(r => r.Matches(token)).ToArray();
        var alreadyRevoked = current.IsRevoked(token);
        if (matching.Length == 0 && !alreadyRevoked && !Local.Records.Any(r => r.Matches(token)))
            return null;
        var ops = new List<TxnOp>();
        if (!alreadyRevoked)
        {
            var marker = JoinTokens.Hash(token, new JoinTokenScope("revoked"), Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));
            ops.Add(new CreateOp($"{RevokedPath}/{marker.Id}", marker.ToBytes(), CreateParents: true));
        }
        ops.AddRange(matching.Select(r => (TxnOp)new DeleteOp($"{TokensPath}/{r.Id}")));
        if (ops.Count == 0)
            return (0, _store.AppliedIndex);
        var result = await _writer.WriteAsync(new Transaction(_writer.Header(), ops), cancellationToken).ConfigureAwait(false);
        if (!result.IsOk || result.FailedOp >= 0)
            throw new InvalidOperationException($"revoking the join token failed: {result.Error}");
        Log.TokenRevoked(_logger, matching.Length);
        return (matching.Length, result.Index);
    }

    private static string RecordId(JoinTokenScope scope) =>
        $"{scope.Namespace}.{scope.Service ?? "_"}.{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        _stop.Dispose();
        lock (_cacheLock)
        {
            foreach (var ca in _loaded)
                ca.Dispose();
            _loaded.Clear();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Created the mesh CA for trust domain {TrustDomain} at index {Index}")]
        public static partial void Created(ILogger logger, string trustDomain, long index);

        [LoggerMessage(2, LogLevel.Information, "Loaded the mesh CA for trust domain {TrustDomain} (index {Index})")]
        public static partial void Loaded(ILogger logger, string trustDomain, long index);

        [LoggerMessage(3, LogLevel.Information, "Stored join token record {Id} for {Scope}")]
        public static partial void TokenStored(ILogger logger, string id, string scope);

        [LoggerMessage(7, LogLevel.Warning, "Revoked a join token ({Records} stored records removed)")]
        public static partial void TokenRevoked(ILogger logger, int records);

        [LoggerMessage(4, LogLevel.Warning, "CA bootstrap step failed, retrying: {Message}")]
        public static partial void BootstrapFailed(ILogger logger, string message);

        [LoggerMessage(5, LogLevel.Warning, "The stored mesh CA has trust domain {Stored}; --trust-domain {Configured} is ignored")]
        public static partial void TrustDomainDiffers(ILogger logger, string stored, string configured);

        [LoggerMessage(6, LogLevel.Warning, "Ignoring join token record {Name}: {Message}")]
        public static partial void BadTokenRecord(ILogger logger, string name, string message);
    }
}
