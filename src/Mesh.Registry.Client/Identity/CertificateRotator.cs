// Keeps a sidecar's workload certificate fresh: issues one at start, renews at a fixed fraction of
// its lifetime (half by default) with a new key each time, and swaps it in atomically. TLS code
// reads Current at every handshake, so new connections use the new certificate while open
// connections carry on with the one they were made with — nothing is dropped. A failed renewal
// is retried with backoff while the current certificate is still valid.
using Mesh.Common.Time;
using Mesh.Registry.Contracts;

namespace Mesh.Registry.Client.Identity;

public sealed class CertificateRotatorOptions
{
    /// <summary>Renew when this fraction of the remaining lifetime (at issuance) has passed.</summary>
    public double RenewAtFraction { get; init; } = 0.5;

    /// <summary>Shortest wait between retries of a failed signing.</summary>
    public TimeSpan MinRetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between retries of a failed signing.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);
}

public sealed class CertificateRotator : IWorkloadCertificateSource, IAsyncDisposable
{
    private readonly Func<string, CancellationToken, Task<CaSignResponse>> _sign;
    private readonly TimeProvider _time;
    private readonly CertificateRotatorOptions _options;
    private readonly RetryLoop _retry;
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private WorkloadCertificate? _current;
    private Task _loop = Task.CompletedTask;
    private DateTimeOffset _renewAt;
    private int _rotations;

    /// <param name="identity">The id this workload must be issued (a certificate for anything else is refused).</param>
    /// <param name="sign">Sends a PEM CSR to the CA and returns its answer (e.g. <see cref="ForRegistry"/>).</param>
    public CertificateRotator(
        SpiffeId identity, Func<string, CancellationToken, Task<CaSignResponse>> sign, TimeProvider? time = null, CertificateRotatorOptions? options = null)
    {
        Identity = identity;
        _sign = sign;
        _time = time ?? TimeProvider.System;
        _options = options ?? new CertificateRotatorOptions();
        _retry = new RetryLoop(new Backoff(_options.MinRetryDelay, _options.MaxRetryDelay), _time);
        if (_options.RenewAtFraction is <= 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(options), "RenewAtFraction must be between 0 and 1");
    }

    /// <summary>A rotator that asks the registry's CA, proving itself with a join token.</summary>
    public static CertificateRotator ForRegistry(
        RegistryClient client, string joinToken, SpiffeId identity, TimeProvider? time = null, CertificateRotatorOptions? options = null) =>
        new(identity, (csr, ct) => client.SignCertificateAsync(new CaSignRequest(joinToken, identity.Namespace, identity.Service, csr), ct), time, options);

    public SpiffeId Identity { get; }

    /// <summary>The certificate to present now. Throws until <see cref="StartAsync"/> has completed.</summary>
    public WorkloadCertificate Current =>
        Volatile.Read(ref _current) ?? throw new InvalidOperationException("no workload certificate yet: await CertificateRotator.StartAsync first");

    /// <summary>Raised after a new certificate was swapped in (on the renewing thread).</summary>
    public event Action<WorkloadCertificate>? Rotated;

    /// <summary>Raised when a renewal failed; it is retried with backoff.</summary>
    public event Action<Exception>? RenewalFailed;

    /// <summary>Certificates issued so far, the first one included.</summary>
    public int Rotations => Volatile.Read(ref _rotations);

    /// <summary>When the next renewal is due.</summary>
    public DateTimeOffset NextRenewal => _renewAt;

    /// <summary>Gets the first certificate (failing if the CA refuses), then renews in the background.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await RenewNowAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(() => RenewLoopAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Issues and swaps in a new certificate now.</summary>
    public async Task<WorkloadCertificate> RenewNowAsync(CancellationToken cancellationToken = default)
    {
        await _renewing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var key = WorkloadIdentity.CreateKey();
            var csr = WorkloadIdentity.CreateSigningRequestPem(key, Identity);
            var answer = await _sign(csr, cancellationToken).ConfigureAwait(false);
            var issued = WorkloadCertificate.FromPem(answer.Certificate, answer.Chain, key);
            if (issued.Identity != Identity)
                throw new InvalidOperationException($"the CA issued a certificate for '{issued.Identity}', expected '{Identity}'");

            var now = _time.GetUtcNow();
            if (issued.NotAfter <= now)
                throw new InvalidOperationException($"the CA issued a certificate that expired at {issued.NotAfter:O}");
            _renewAt = now + (issued.NotAfter - now) * _options.RenewAtFraction;
            Volatile.Write(ref _current, issued);
            Interlocked.Increment(ref _rotations);
            Rotated?.Invoke(issued);
            return issued;
        }
        finally
        {
            _renewing.Release();
        }
    }

    private async Task RenewLoopAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = _renewAt - _time.GetUtcNow();
            try
            {
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                await RenewNowAsync(cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                RenewalFailed?.Invoke(ex);
                _renewAt = _time.GetUtcNow() + RetryDelay(failures);
            }
        }
    }

    // The loop's backoff (from MinRetryDelay up to MaxRetryDelay), also capped by a tenth of the
    // time left, so a short-lived certificate gets several attempts before it expires.
    private TimeSpan RetryDelay(int failures)
    {
        var backoff = _retry.NextDelay(failures);
        var left = (Volatile.Read(ref _current)?.NotAfter ?? _time.GetUtcNow()) - _time.GetUtcNow();
        var delay = TimeSpan.FromTicks(Math.Min(backoff.Ticks, Math.Max(left.Ticks / 10, 0)));
        return delay < _options.MinRetryDelay ? _options.MinRetryDelay : delay;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
        _renewing.Dispose();
    }
}
