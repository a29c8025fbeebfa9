// How a sidecar with `tls:` gets its identity at start-up, before any listener opens: the trust
// bundle from GET /v1/ca/root, then its first certificate through a CertificateRotator that shows
// the join token. A refused token is a SidecarStartupException saying so, and the sidecar does
// not start.
using System.Net;
using Mesh.Registry.Client;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Core;
using Mesh.Sidecar.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Security;

internal static partial class SidecarIdentityBootstrap
{
    /// <summary>How long start-up waits for the registry's CA (a cluster that just started creates it first).</summary>
    public static readonly TimeSpan CaWait = TimeSpan.FromSeconds(30);

    public static async Task<SidecarSecurity> StartAsync(
        RegistryClient client, SidecarConfig config, ILogger logger, CancellationToken cancellationToken, CertificateRotatorOptions? rotatorOptions = null)
    {
        var token = config.Tls.ResolveJoinToken();
        var root = await GetRootAsync(client, cancellationToken).ConfigureAwait(false);
        if (config.Tls.TrustDomain is { } wanted && wanted != root.TrustDomain)
            throw new SidecarStartupException($"tls.trustDomain is '{wanted}' but the registry's CA is for '{root.TrustDomain}'");

        SpiffeId identity;
        try
        {
            identity = SpiffeId.Create(root.TrustDomain, config.Service.Namespace, config.Service.Name);
        }
        catch (ArgumentException e)
        {
            throw new SidecarStartupException($"service.name/namespace cannot form a SPIFFE id: {e.Message}", e);
        }

        var trust = TrustBundle.FromResponse(root);
        var rotator = CertificateRotator.ForRegistry(client, token, identity, options: rotatorOptions);
        rotator.RenewalFailed += e => Log.RenewalFailed(logger, identity.ToString(), e.Message);
        rotator.Rotated += c => Log.Rotated(logger, identity.ToString(), c.NotAfter);
        try
        {
            await rotator.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException e) when (e.Status is HttpStatusCode.Forbidden or HttpStatusCode.BadRequest)
        {
            await rotator.DisposeAsync().ConfigureAwait(false);
            throw new SidecarStartupException($"the registry refused to issue a certificate for {identity}: {e.Message}", e);
        }
        catch (Exception e) when (e is RegistryException or HttpRequestException or InvalidOperationException)
        {
            await rotator.DisposeAsync().ConfigureAwait(false);
            throw new SidecarStartupException($"could not get a certificate for {identity} from the registry: {e.Message}", e);
        }

        Log.Issued(logger, identity.ToString(), rotator.Current.NotAfter, config.Tls.Mode.ToString().ToLowerInvariant());
        var security = new SidecarSecurity(
            config.Tls.ListenerMode, trust, rotator, identity, new AuthorizationPolicySet(config.Authorization), owned: rotator);
        // Every renewal also re-reads the trust bundle, so a root added by a rotation (docs/security.md,
        // "Root rotation") reaches running sidecars within half a certificate lifetime.
        rotator.Rotated += issued => { _ = RefreshTrustAsync(client, security, logger); };
        return security;
    }

    /// <summary>Takes the registry's current trust bundle if it changed. Failures are logged; the sidecar keeps its roots.</summary>
    public static async Task RefreshTrustAsync(RegistryClient client, SidecarSecurity security, ILogger logger, CancellationToken cancellationToken = default)
    {
        try
        {
            ApplyTrust(await client.GetCaRootAsync(cancellationToken).ConfigureAwait(false), security, logger);
        }
        catch (Exception e) when (e is RegistryException or HttpRequestException or OperationCanceledException)
        {
            Log.TrustRefreshFailed(logger, e.Message);
        }
    }

    /// <summary>Takes <paramref name="root"/> as the trust bundle if its roots changed (and it is for our trust domain). A bundle that does not parse is logged and left.</summary>
    public static void ApplyTrust(CaRootResponse root, SidecarSecurity security, ILogger logger)
    {
        try
        {
            var latest = TrustBundle.FromResponse(root);
            if (latest.TrustDomain != security.Trust.TrustDomain)
                Log.TrustDomainChanged(logger, security.Trust.TrustDomain, latest.TrustDomain);
            else if (security.RefreshTrust(latest))
                Log.TrustUpdated(logger, latest.Roots.Count);
        }
        catch (Exception e) when (e is ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            Log.TrustRefreshFailed(logger, e.Message);
        }
    }

    private static async Task<CaRootResponse> GetRootAsync(RegistryClient client, CancellationToken cancellationToken)
    {
        var time = client.Options.TimeProvider;
        var started = time.GetTimestamp();
        try
        {
            // A registry still electing its first leader is waited out, up to CaWait.
            return await new Mesh.Common.Time.RetryLoop(Mesh.Common.Time.Backoff.Constant(TimeSpan.FromMilliseconds(250)), time).RetryAsync(
                client.GetCaRootAsync,
                e => e is RegistryException { Code: RegistryErrorCodes.Unavailable or RegistryErrorCodes.Timeout } or HttpRequestException
                     && time.GetElapsedTime(started) < CaWait,
                null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RegistryException or HttpRequestException)
        {
            throw new SidecarStartupException($"cannot get the mesh trust bundle from the registry (GET /v1/ca/root): {e.Message}", e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Issued {Identity} until {NotAfter:O}; tls {Mode}")]
        public static partial void Issued(ILogger logger, string identity, DateTimeOffset notAfter, string mode);

        [LoggerMessage(2, LogLevel.Debug, "Rotated the certificate of {Identity}; valid until {NotAfter:O}")]
        public static partial void Rotated(ILogger logger, string identity, DateTimeOffset notAfter);

        [LoggerMessage(3, LogLevel.Warning, "Renewing the certificate of {Identity} failed, retrying: {Message}")]
        public static partial void RenewalFailed(ILogger logger, string identity, string message);

        [LoggerMessage(4, LogLevel.Information, "Trust bundle updated from the registry: {Roots} root(s)")]
        public static partial void TrustUpdated(ILogger logger, int roots);

        [LoggerMessage(5, LogLevel.Error, "The registry's CA is now for trust domain {Latest}, not {Current}; keeping the current roots (restart the sidecar to change trust domain)")]
        public static partial void TrustDomainChanged(ILogger logger, string current, string latest);

        [LoggerMessage(6, LogLevel.Warning, "Refreshing the trust bundle failed; keeping the current roots: {Message}")]
        public static partial void TrustRefreshFailed(ILogger logger, string message);
    }
}
