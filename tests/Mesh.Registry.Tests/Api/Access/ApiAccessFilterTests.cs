using System.Net;
using Mesh.Registry.Api.Access;
using Mesh.Registry.CertificateAuthority;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Tests.Api.Access;

/// <summary><see cref="ApiAccessFilter"/> in front of endpoints of a real Kestrel app.</summary>
public sealed class ApiAccessFilterTests
{
    private const string Admin = "admin-token-0123456789";
    private const string Reader = "reader-token-0123456789";

    [Fact]
    public async Task Request_WithoutToken_IsUnauthenticatedAndItsBodyIsNeverRead()
    {
        var bodyRead = false;
        await using var app = await StartAsync([new ApiTokenGrant(ApiTokenRole.Admin, Admin)], async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            bodyRead = true;
        });
        using var http = new HttpClient();

        using var response = await http.PostAsync(new Uri(app.Url, "/v1/nodes/a"), new StringContent("data"));

        var (code, _) = await ApiAnswers.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Unauthenticated", code);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.False(bodyRead);
    }

    [Fact]
    public async Task Write_WithAReadToken_IsForbidden()
    {
        await using var app = await StartAsync([new ApiTokenGrant(ApiTokenRole.Reader, Reader)], _ => Task.CompletedTask);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app.Url, "/v1/nodes/a"));
        request.Headers.Authorization = new("Bearer", Reader);

        using var response = await http.SendAsync(request);

        Assert.Equal("Forbidden", (await ApiAnswers.ErrorAsync(response, HttpStatusCode.Forbidden)).Code);
    }

    [Fact]
    public async Task Request_WithAnAllowedToken_RunsTheEndpointWithItsCaller()
    {
        ApiCaller? caller = null;
        await using var app = await StartAsync([new ApiTokenGrant(ApiTokenRole.Admin, Admin)], context =>
        {
            caller = ApiAccessFilter.CallerOf(context);
            return Task.CompletedTask;
        });
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app.Url, "/v1/nodes/a"));
        request.Headers.Authorization = new("Bearer", Admin);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new ApiCaller.Operator(ApiTokenRole.Admin), caller);
    }

    [Fact]
    public async Task Request_AuthenticationOff_RunsTheEndpointAnonymously()
    {
        var ran = false;
        await using var app = await StartAsync([], context =>
        {
            ran = ApiAccessFilter.CallerOf(context) is null;
            return Task.CompletedTask;
        });
        using var http = new HttpClient();

        using var response = await http.PostAsync(new Uri(app.Url, "/v1/nodes/a"), null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(ran);
    }

    private static Task<TestApp> StartAsync(ApiTokenGrant[] tokens, RequestDelegate endpoint)
    {
        var auth = new ApiAuthenticator(new ApiTokens(tokens), () => new JoinTokenRegistry([]));
        return TestApp.StartAppAsync(app => app.Map("/{**path}", endpoint).AddEndpointFilter(new ApiAccessFilter(auth)));
    }

}
