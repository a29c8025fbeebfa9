using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace Mesh.Registry.Client.Tests.Identity;

public sealed class CertificateRotatorTests
{
    private static readonly SpiffeId Catalog = SpiffeId.Create("mesh.test", "shop", "catalog");
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    [Fact]
    public async Task StartAsync_IssuesTheFirstCertificate_AndPlansRenewalAtHalfLife()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var signer = new TestSigner(time, Lifetime);
        await using var rotator = new CertificateRotator(Catalog, (csr, _) => signer.SignAsync(csr, Catalog), time);

        Assert.Throws<InvalidOperationException>(() => rotator.Current);
        await rotator.StartAsync();

        Assert.Equal(Catalog, rotator.Current.Identity);
        Assert.True(rotator.Current.Certificate.HasPrivateKey);
        Assert.Equal(1, rotator.Rotations);
        Assert.Equal(time.GetUtcNow() + Lifetime / 2, rotator.NextRenewal, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Renews_AtHalfLife_WithANewKey_AndRaisesRotated()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var signer = new TestSigner(time, Lifetime);
        await using var rotator = new CertificateRotator(Catalog, (csr, _) => signer.SignAsync(csr, Catalog), time);
        var rotated = new TaskCompletionSource<WorkloadCertificate>(TaskCreationOptions.RunContinuationsAsynchronously);
        await rotator.StartAsync();
        var first = rotator.Current;
        rotator.Rotated += c => rotated.TrySetResult(c);

        time.Advance(Lifetime / 2 - TimeSpan.FromMinutes(1));
        await Task.Delay(50);
        Assert.Equal(1, signer.Calls);

        time.Advance(TimeSpan.FromMinutes(2));
        var second = await rotated.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Same(second, rotator.Current);
        Assert.Equal(2, rotator.Rotations);
        Assert.NotEqual(first.Certificate.SerialNumber, second.Certificate.SerialNumber);
        Assert.False(first.Certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(second.Certificate.PublicKey.ExportSubjectPublicKeyInfo()));
    }

    [Fact]
    public async Task FailedRenewal_IsRetried_AndTheOldCertificateStaysInUse()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var signer = new TestSigner(time, Lifetime);
        await using var rotator = new CertificateRotator(Catalog, (csr, _) => signer.SignAsync(csr, Catalog), time);
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var rotated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await rotator.StartAsync();
        var first = rotator.Current;
        rotator.RenewalFailed += ex => failed.TrySetResult(ex);
        rotator.Rotated += _ => rotated.TrySetResult();
        signer.FailNext = 1;

        time.Advance(Lifetime / 2);
        Assert.IsType<HttpRequestException>(await failed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Same(first, rotator.Current);

        // The first retry comes after MinRetryDelay (100 ms). The rotator arms that timer after it
        // reports the failure, so keep moving the clock until the retry has happened.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!rotated.Task.IsCompleted)
        {
            time.Advance(TimeSpan.FromMilliseconds(200));
            await Task.Delay(20, deadline.Token);
        }
        Assert.NotSame(first, rotator.Current);
        Assert.Equal(3, signer.Calls);
    }

    [Fact]
    public async Task StartAsync_RefusesACertificateForAnotherIdentity()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var signer = new TestSigner(time, Lifetime) { IssueAs = SpiffeId.Create("mesh.test", "shop", "billing") };
        await using var rotator = new CertificateRotator(Catalog, (csr, _) => signer.SignAsync(csr, Catalog), time);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => rotator.StartAsync());
        Assert.Contains("billing", ex.Message, StringComparison.Ordinal);
    }
}
