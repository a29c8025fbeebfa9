using System.CommandLine;
using Mesh.Registry.Api.Limits;

namespace Mesh.Cli.Commands;

/// <summary>The flags of <c>mesh registry</c> that bound what callers may make a node read and hold (docs/security.md, "Limits").</summary>
internal sealed class RegistryLimitOptions
{
    private static readonly RegistryLimits Defaults = new();

    private readonly Option<int> _maxTxnOps = new("--max-txn-ops")
    {
        Description = "Most ops in one transaction; more is 413 TooManyOps.",
        DefaultValueFactory = _ => Defaults.MaxTxnOps,
    };

    private readonly Option<long> _maxTxnBytes = new("--max-txn-bytes")
    {
        Description = "Most body bytes of one transaction; more is 413 BodyTooLarge.",
        DefaultValueFactory = _ => Defaults.MaxTxnBytes,
    };

    private readonly Option<int> _anonymousConcurrency = new("--anonymous-concurrency")
    {
        Description = "Requests without a token served at once on /v1/ca/sign and /v1/ca/root; more are 429 TooManyRequests.",
        DefaultValueFactory = _ => Defaults.AnonymousConcurrency,
    };

    private readonly Option<int> _authFailures = new("--auth-failures")
    {
        Description = "Failed authentications (unknown tokens, HTTP or ZooKeeper) one address may make per minute; after them its attempts are refused unchecked (HTTP 429, ZooKeeper AuthFailed) until the minute ends.",
        DefaultValueFactory = _ => Defaults.AuthFailuresPerAddress,
    };

    private readonly Option<long> _quotaNodes = new("--quota-nodes")
    {
        Description = "Nodes one join token namespace may hold; more is 403 NodeQuotaExceeded. Admin tokens are not limited.",
        DefaultValueFactory = _ => Defaults.QuotaNodes,
    };

    private readonly Option<long> _quotaBytes = new("--quota-bytes")
    {
        Description = "Node data bytes one join token namespace may hold; more is 403 ByteQuotaExceeded.",
        DefaultValueFactory = _ => Defaults.QuotaBytes,
    };

    private readonly Option<long> _quotaSessions = new("--quota-sessions")
    {
        Description = "Live sessions one join token namespace may hold; more is 403 SessionQuotaExceeded.",
        DefaultValueFactory = _ => Defaults.QuotaSessions,
    };

    private readonly Option<int> _maxWatchesPerStream = new("--max-watches-per-stream")
    {
        Description = "Most watches (prefix, path, trust) one streaming watch may carry; more is 400 TooManyWatches.",
        DefaultValueFactory = _ => Defaults.MaxWatchesPerStream,
    };

    private readonly Option<int> _maxWatchStreams = new("--max-watch-streams")
    {
        Description = "Streaming watches one caller (address and credential) may hold open on a node; more is 429 TooManyRequests.",
        DefaultValueFactory = _ => Defaults.MaxWatchStreamsPerCaller,
    };

    private readonly Option<int> _maxWatchesPerCaller = new("--max-watches-per-caller")
    {
        Description = "Watches one caller (address and credential) may hold over all its streaming watches on a node; more is 429 TooManyRequests.",
        DefaultValueFactory = _ => Defaults.MaxWatchesPerCaller,
    };

    private readonly Option<int> _watchStreamBuffer = new("--watch-stream-buffer")
    {
        Description = "Records a streaming watch's reader may fall behind before it is cut off with a resume record.",
        DefaultValueFactory = _ => Defaults.WatchStreamBufferRecords,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_maxWatchesPerStream);
        command.Options.Add(_maxWatchStreams);
        command.Options.Add(_maxWatchesPerCaller);
        command.Options.Add(_watchStreamBuffer);
        command.Options.Add(_maxTxnOps);
        command.Options.Add(_maxTxnBytes);
        command.Options.Add(_anonymousConcurrency);
        command.Options.Add(_authFailures);
        command.Options.Add(_quotaNodes);
        command.Options.Add(_quotaBytes);
        command.Options.Add(_quotaSessions);
    }

    /// <summary>The limits given; out-of-range values are refused when the node starts.</summary>
    public RegistryLimits Read(ParseResult parseResult) => new()
    {
        MaxTxnOps = parseResult.GetValue(_maxTxnOps),
        MaxTxnBytes = parseResult.GetValue(_maxTxnBytes),
        AnonymousConcurrency = parseResult.GetValue(_anonymousConcurrency),
        AuthFailuresPerAddress = parseResult.GetValue(_authFailures),
        QuotaNodes = parseResult.GetValue(_quotaNodes),
        QuotaBytes = parseResult.GetValue(_quotaBytes),
        QuotaSessions = parseResult.GetValue(_quotaSessions),
        MaxWatchesPerStream = parseResult.GetValue(_maxWatchesPerStream),
        MaxWatchStreamsPerCaller = parseResult.GetValue(_maxWatchStreams),
        MaxWatchesPerCaller = parseResult.GetValue(_maxWatchesPerCaller),
        WatchStreamBufferRecords = parseResult.GetValue(_watchStreamBuffer),
    };
}
