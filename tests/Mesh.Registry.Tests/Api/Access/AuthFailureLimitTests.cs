using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Contracts;
using Mesh.Testing;

namespace Mesh.Registry.Tests.Api.Access;

/// <summary>Token guessing over HTTP against a real registry node, from two loopback addresses.</summary>
public sealed class AuthFailureLimitTests
{
    private const string AdminToken = "limit-admin-token-0123456789";

    /// <summary>An HTTP client whose connections come from <paramref name="local"/>.</summary>
    internal static HttpClient From(IPAddress local) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { Timeout = TimeSpan.FromSeconds(15) };

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, Uri url, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task Guesser_IsCutOffUnchecked_WhileACorrectClientElsewhereIsServed_AndItsAddressWorksAgainAfterTheWindow()
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with
        {
            ApiTokens = [new ApiTokenGrant(ApiTokenRole.Admin, AdminToken)],
            Limits = o.Limits with { AuthFailuresPerAddress = 3, AuthFailureWindow = TimeSpan.FromSeconds(2) },
        });
        var node = await cluster.WaitForLeaderAsync();
        var url = cluster.Url(node, "/v1/nodes/");
        using var guesser = From(IPAddress.Loopback);
        using var neighbour = From(IPAddress.Parse("127.0.0.2"));

        for (var i = 0; i < 3; i++)
        {
            using var wrong = await GetAsync(guesser, url, $"guess-{i}-0123456789abcdef");
            Assert.Equal("Unauthenticated", (await ApiAnswers.ErrorAsync(wrong, HttpStatusCode.Unauthorized)).Code);
        }
        // The right token now is refused too: past its allowance an address's tokens are not checked.
        using var cut = await GetAsync(guesser, url, AdminToken);
        var (code, message) = await ApiAnswers.ErrorAsync(cut, HttpStatusCode.TooManyRequests);
        Assert.Equal("TooManyRequests", code);
        Assert.Contains("too many failed authentications", message, StringComparison.Ordinal);
        Assert.InRange(cut.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 2);

        using var other = await GetAsync(neighbour, url, AdminToken);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        // Requests without a token are not guesses: still the plain 401.
        using var anonymous = await guesser.GetAsync(url);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        await Eventually.TrueAsync(async () =>
        {
            using var again = await GetAsync(guesser, url, AdminToken);
            return again.StatusCode == HttpStatusCode.OK;
        }, "the guesser's address is served again once its window ended");
    }
    [Fact]
    public async Task CaSign_JoinTokensGuessedInTheBody_CountAgainstTheAddress_WhichIsThenCutOffUnchecked()
    {
        const string ShopToken = "limit-shop-join-token-0123456789";
        await using var cluster = await TestCluster.StartAsync(1, o => o with
        {
            ApiTokens = [new ApiTokenGrant(ApiTokenRole.Admin, AdminToken)],
            JoinTokens = [JoinTokenGrant.Parse("shop=" + ShopToken)],
            Limits = o.Limits with { AuthFailuresPerAddress = 3, AuthFailureWindow = TimeSpan.FromMinutes(5) },
        });
        var node = await cluster.WaitForLeaderAsync();
        // Until the leader has created the CA, a sign is answered 503 before any token is looked at.
        (await TestCluster.WaitForCaRootAsync(cluster.Http, cluster.Url(node, "/"))).Dispose();
        var url = cluster.Url(node, "/v1/ca/sign");
        using var guesser = From(IPAddress.Loopback);
        using var neighbour = From(IPAddress.Parse("127.0.0.2"));
        Task<HttpResponseMessage> SignAsync(HttpClient http, string token) =>
            http.PostAsJsonAsync(url, new CaSignRequest(token, "shop", "catalog", "not a csr"), RegistryJson.Default.CaSignRequest);

        for (var i = 0; i < 3; i++)
        {
            using var wrong = await SignAsync(guesser, $"guess-{i}-0123456789abcdef");
            Assert.Contains("unknown join token", (await ApiAnswers.ErrorAsync(wrong, HttpStatusCode.Forbidden)).Message, StringComparison.Ordinal);
        }
        // Past its allowance the address's next token is not even compared: 429, however right it is.
        using var cut = await SignAsync(guesser, ShopToken);
        var (code, message) = await ApiAnswers.ErrorAsync(cut, HttpStatusCode.TooManyRequests);
        Assert.Equal("TooManyRequests", code);
        Assert.Contains("too many failed authentications", message, StringComparison.Ordinal);
        Assert.NotNull(cut.Headers.RetryAfter);

        // A right token elsewhere is checked, and gets past the token to the CSR it sent.
        using var other = await SignAsync(neighbour, ShopToken);
        Assert.Contains("CSR", (await ApiAnswers.ErrorAsync(other, HttpStatusCode.BadRequest)).Message, StringComparison.OrdinalIgnoreCase);
        // A known token for another scope is a mistake, not a guess: it does not count.
        for (var i = 0; i < 4; i++)
        {
            using var misuse = await neighbour.PostAsJsonAsync(url, new CaSignRequest(ShopToken, "billing", "ledger", "not a csr"), RegistryJson.Default.CaSignRequest);
            Assert.Equal(HttpStatusCode.Forbidden, misuse.StatusCode);
        }
        using var still = await SignAsync(neighbour, ShopToken);
        Assert.Equal(HttpStatusCode.BadRequest, still.StatusCode);
    }
}
