// Authorization policies from the registry: every document under /config/policies (one policy,
// `service:` + `rules:`, or an `authorization:` list), merged with the inline ones and swapped
// into InboundAuthorization whole. A document that does not parse keeps its last good version,
// and the problem is kept in Errors.
using System.Collections.Immutable;
using System.Text;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Configuration;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Security;

internal sealed partial class PolicyWatcher(
    RegistryClient client, InboundAuthorization authorization, IReadOnlyList<AuthorizationPolicy> inline, ILogger logger) : IAsyncDisposable
{
    private readonly TimeProvider _time = client.Options.TimeProvider;

    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private ImmutableDictionary<string, string> _errors = ImmutableDictionary<string, string>.Empty;
    private long _index = -1;

    /// <summary>Documents refused at the last change, by name, with why.</summary>
    public IReadOnlyDictionary<string, string> Errors => _errors;

    /// <summary>The registry index of the policies applied last (-1 before the first).</summary>
    public long Index => Interlocked.Read(ref _index);

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private Task RunAsync(CancellationToken cancellationToken)
    {
        var lastGood = new Dictionary<string, (byte[] Raw, IReadOnlyList<AuthorizationPolicy> Policies)>(StringComparer.Ordinal);
        void Apply(ConfigSnapshot snapshot)
        {
            var errors = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            var current = new Dictionary<string, (byte[] Raw, IReadOnlyList<AuthorizationPolicy> Policies)>(StringComparer.Ordinal);
            foreach (var (name, raw) in snapshot.Documents)
            {
                if (lastGood.TryGetValue(name, out var known) && known.Raw.AsSpan().SequenceEqual(raw))
                {
                    current[name] = known;
                    continue;
                }

                try
                {
                    current[name] = (raw, AuthorizationPolicyReader.Read(Encoding.UTF8.GetString(raw), $"{ServicePaths.PoliciesRoot}/{name}"));
                }
                catch (AuthorizationPolicyException e)
                {
                    errors[name] = e.Message;
                    Log.Rejected(logger, name, e.Message);
                    if (lastGood.TryGetValue(name, out var previous))
                        current[name] = previous;
                }
            }

            lastGood = current;
            _errors = errors.ToImmutable();
            authorization.Policies = new AuthorizationPolicySet(
                [.. inline, .. current.OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.Policies)]);
            Interlocked.Exchange(ref _index, snapshot.Index);
        }

        return new Mesh.Common.Time.RetryLoop(Mesh.Common.Time.Backoff.Constant(TimeSpan.FromSeconds(1)), _time).WatchAsync(
            token => client.WatchConfigAsync(ServicePaths.PoliciesRoot, token), Apply,
            (e, _) => Log.WatchFailed(logger, e.Message), cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Authorization policy document {Name} rejected; keeping its last good version: {Message}")]
        public static partial void Rejected(ILogger logger, string name, string message);

        [LoggerMessage(2, LogLevel.Warning, "Policy watch failed; retrying: {Message}")]
        public static partial void WatchFailed(ILogger logger, string message);
    }
}
