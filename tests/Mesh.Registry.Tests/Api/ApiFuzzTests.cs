using System.Text;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.CertificateAuthority;
using Mesh.Registry.Tests.Api.Limits;

namespace Mesh.Registry.Tests.Api;

/// <summary>
/// A seeded fuzz loop against a real node over a real socket: requests built from every endpoint
/// with random bytes in the path, query, headers and body. None may get a 5xx, and the node keeps
/// serving. A failure prints its seed and request number; rerun with that seed to replay it.
/// </summary>
public sealed class ApiFuzzTests
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"];

    private static readonly string[] Paths =
    [
        "/healthz", "/readyz", "/v1/status", "/v1/txn", "/v1/nodes", "/v1/nodes/", "/v1/nodes/a", "/v1/nodes/a/b",
        "/v1/sessions", "/v1/sessions/", "/v1/sessions/1", "/v1/sessions/1/keepalive", "/v1/watch/a", "/v1/watch",
        "/v1/ca/root", "/v1/ca/sign", "/v1/ca/revoke", "/v1/services", "/v1/services/orders", "/v1/nope", "/metrics",
    ];

    private static readonly string[] QueryKeys = ["raw", "children", "stale", "mode", "session", "parents", "version", "recursive", "after", "wait", "x"];

    private static readonly string[] HeaderNames =
        ["Mesh-Client-Id", "Mesh-Request-Seq", "Authorization", "Content-Type", "Accept", "Mesh-Forwarded", "X-Fuzz"];

    private static readonly string[] Bodies =
    [
        """{"ops":[{"op":"create","path":"/f","data":"aGk=","parents":true},{"op":"check","path":"/f","version":0}]}""",
        """{"ops":[{"op":"set","path":"/a","data":"eA==","version":-1},{"op":"delete","path":"/a/b","recursive":true}]}""",
        """{"ttlMs":5000}""",
        """{"token":"shop-token-0123456789abcdef","namespace":"shop","service":"catalog","csr":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"}""",
        """{"token":"shop-token-0123456789abcdef"}""",
        "hello",
    ];

    [Theory]
    [InlineData(1701, 700)]
    [InlineData(4242, 700)]
    public async Task RandomRequests_NeverGet5xx_AndTheNodeKeepsServing(int seed, int count)
    {
        await using var cluster = await TestCluster.StartAsync(1, o => o with
        {
            JoinTokens = [JoinTokenGrant.Parse("shop=shop-token-0123456789abcdef")],
            Limits = new RegistryLimits { AnonymousConcurrency = 64 },
            WatchHistory = 1000,
        });
        var node = cluster.Nodes[0]!;
        await AnonymousGateTests.WaitForCaAsync(cluster, node);
        var random = new Random(seed);
        var statuses = new Dictionary<int, int>();

        for (var i = 0; i < count; i++)
        {
            var request = Build(random, out var isWatch);
            await using var raw = await RawHttp.ConnectAsync(node.ClientUrl);
            await raw.TrySendAsync(request);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(isWatch ? 2 : 15));
            RawResponse? response;
            try
            {
                response = await raw.ReadResponseAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (isWatch)
            {
                continue; // a well-formed long poll: it waits for a change, as it should
            }

            // A connection closed without an answer is Kestrel refusing bytes it cannot parse.
            var status = response?.Status ?? 0;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status < 500, $"seed {seed}, request {i}: {status} {response?.Body}\n{Encoding.Latin1.GetString(request)}");
        }

        Assert.True(statuses.Keys.Count(s => s is >= 400 and < 500) >= 3, string.Join(", ", statuses.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await cluster.Http.GetAsync(cluster.Url(node, "/healthz"))).StatusCode);
        await cluster.JsonAsync(await cluster.Http.PostAsync(cluster.Url(node, "/v1/nodes/after-fuzz?parents=true"), new StringContent("ok")), System.Net.HttpStatusCode.Created);
    }

    private static byte[] Build(Random random, out bool isWatch)
    {
        var method = Pick(random, Methods);
        var path = Pick(random, Paths);
        if (random.Next(3) == 0)
            path += "/" + RandomSegment(random);
        isWatch = path.StartsWith("/v1/watch", StringComparison.Ordinal) || path.Contains("keepalive", StringComparison.Ordinal);
        var query = new StringBuilder();
        for (var q = random.Next(4); q > 0; q--)
            query.Append(query.Length == 0 ? '?' : '&').Append(random.Next(4) == 0 ? RandomSegment(random) : Pick(random, QueryKeys)).Append('=').Append(RandomSegment(random));
        if (isWatch)
            query.Append(query.Length == 0 ? '?' : '&').Append("wait=1s");

        var head = new List<byte>();
        head.AddRange(Encoding.ASCII.GetBytes($"{method} {path}{query} HTTP/1.1\r\nHost: localhost\r\n"));
        for (var h = random.Next(4); h > 0; h--)
        {
            head.AddRange(Encoding.ASCII.GetBytes(Pick(random, HeaderNames) + ": "));
            head.AddRange(random.Next(3) == 0 ? RandomBytes(random, 40, printable: true) : Encoding.ASCII.GetBytes(PlausibleHeaderValue(random)));
            head.AddRange("\r\n"u8.ToArray());
        }

        var body = random.Next(4) switch
        {
            0 => [],
            1 => RandomBytes(random, 2000, printable: false),
            _ => Mutate(random, Encoding.UTF8.GetBytes(Pick(random, Bodies))),
        };
        if (random.Next(5) == 0)
        {
            head.AddRange("Transfer-Encoding: chunked\r\n\r\n"u8.ToArray());
            return [.. head, .. body.Length > 0 ? RawHttp.Chunk(body) : [], .. "0\r\n\r\n"u8];
        }
        head.AddRange(Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n\r\n"));
        return [.. head, .. body];
    }

    // Percent-encoded random bytes: invalid UTF-8, control characters, slashes, dots.
    private static string RandomSegment(Random random)
    {
        var sb = new StringBuilder();
        for (var n = random.Next(1, 12); n > 0; n--)
        {
            var b = random.Next(6) == 0 ? (byte)random.Next(256) : (byte)"abc.-_/%~1"[random.Next(10)];
            sb.Append(b is (byte)'%' or > 0x7E or < 0x21 || random.Next(4) == 0 ? $"%{b:X2}" : ((char)b).ToString());
        }
        return sb.ToString();
    }

    private static string PlausibleHeaderValue(Random random) => random.Next(5) switch
    {
        0 => Guid.NewGuid().ToString(),
        1 => random.Next(-5, 100).ToString(System.Globalization.CultureInfo.InvariantCulture),
        2 => "Bearer shop-token-0123456789abcdef",
        3 => "application/json",
        _ => "Bearer " + new string('x', random.Next(0, 30)),
    };

    private static byte[] RandomBytes(Random random, int max, bool printable)
    {
        var bytes = new byte[random.Next(max)];
        random.NextBytes(bytes);
        if (printable)
        {
            // Header values: anything but CR and LF (which would end the header).
            for (var i = 0; i < bytes.Length; i++)
                bytes[i] = bytes[i] is (byte)'\r' or (byte)'\n' ? (byte)' ' : bytes[i];
        }
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] valid)
    {
        for (var n = random.Next(4); n > 0; n--)
        {
            var at = random.Next(valid.Length);
            valid[at] = random.Next(3) switch
            {
                0 => (byte)random.Next(256),
                1 => (byte)"\\\"{}[]:,0"[random.Next(9)],
                _ => 0xFF,
            };
        }
        return valid;
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];
}
