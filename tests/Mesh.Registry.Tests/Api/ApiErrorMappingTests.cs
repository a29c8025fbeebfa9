using System.Net;
using System.Text.Json;
using Mesh.Registry.Api;
using Mesh.Registry.Api.Limits;
using Mesh.Registry.Consensus;
using Mesh.Registry.Watches;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Registry.Tests.Api;

/// <summary>Each exception an endpoint may throw, and the answer <see cref="ApiErrorMapping"/> gives it, on a real Kestrel app.</summary>
public sealed class ApiErrorMappingTests
{
    public static TheoryData<string, HttpStatusCode, string> Answers => new()
    {
        { "api", HttpStatusCode.Conflict, "Conflict" },
        { "compacted", HttpStatusCode.Gone, "IndexCompacted" },
        { "not-leader", HttpStatusCode.ServiceUnavailable, "Unavailable" },
        { "no-quorum", HttpStatusCode.ServiceUnavailable, "Unavailable" },
        { "outcome", HttpStatusCode.GatewayTimeout, "OutcomeUnknown" },
        { "timeout", HttpStatusCode.GatewayTimeout, "Timeout" },
        { "bug", HttpStatusCode.InternalServerError, "Internal" },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Exception_IsAnsweredWithItsCodeAndStatus(string kind, HttpStatusCode status, string code)
    {
        await using var app = await TestApp.StartAppAsync(a =>
        {
            a.Use(new ApiErrorMapping(NullLogger.Instance).InvokeAsync);
            a.MapGet("/{kind}", (HttpContext context) => Throw(context.Request.RouteValues["kind"] as string));
        });
        using var http = new HttpClient();

        using var response = await http.GetAsync(new Uri(app.Url, "/" + kind));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        Assert.Equal(code, json.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("message").GetString()));
        if (status == HttpStatusCode.ServiceUnavailable)
            Assert.Equal("1", response.Headers.RetryAfter?.ToString());
        if (kind == "compacted")
            Assert.Equal(3, json.RootElement.GetProperty("oldestIndex").GetInt64());
    }

    [Fact]
    public async Task BodyOverItsLimitWhileStreaming_IsAnsweredWithTheLimit()
    {
        await using var app = await TestApp.StartAppAsync(a =>
        {
            a.Use(new ApiErrorMapping(NullLogger.Instance).InvokeAsync);
            a.MapPost("/v1/sessions", (HttpContext context) => context.Request.Body.CopyToAsync(Stream.Null))
                .AddEndpointFilter(new BodyLimitFilter(new RegistryLimits()));
        });
        using var http = new HttpClient();
        // Chunked: no Content-Length to refuse up front, so the limit strikes while the body is read.
        using var content = new StreamContent(new MemoryStream(new byte[BodyLimits.SmallBodyBytes + 1]));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app.Url, "/v1/sessions")) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await http.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var json = JsonDocument.Parse(text);
        Assert.Equal("BodyTooLarge", json.RootElement.GetProperty("error").GetString());
        Assert.Equal(BodyLimits.SmallBodyBytes, json.RootElement.GetProperty("limitBytes").GetInt64());
    }

    private static Task Throw(string? kind) => throw (kind switch
    {
        "api" => new ApiException(StatusCodes.Status409Conflict, ApiErrors.Conflict, "conflict"),
        "compacted" => new IndexCompactedException(1, 3),
        "not-leader" => new NotLeaderException(null),
        "no-quorum" => new QuorumUnavailableException("no quorum"),
        "outcome" => new OutcomeUnknownException("unknown"),
        "timeout" => new TimeoutException("slow"),
        _ => new InvalidOperationException("a bug"),
    });
}
