using Mesh.Sidecar.Forwarder;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Sidecar.Tests.Forwarder;

public sealed class DestinationUrisTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5001", "/")]
    [InlineData("http://127.0.0.1:5001", "/orders/42")]
    [InlineData("http://127.0.0.1:5001", "/a b/ü/%/#/?")]
    [InlineData("https://[::1]:15006", "/a%2Fb")]
    [InlineData("http://127.0.0.1:5001/base", "/x")]
    public void For_PathWithoutQuery_IsTheUriTheForwarderWouldBuild(string prefix, string path)
    {
        var request = Request(path);

        var uri = new DestinationUris(prefix).For(request);

        var expected = RequestUtilities.MakeDestinationAddress(prefix, request.Path, request.QueryString);
        Assert.NotNull(uri);
        Assert.Equal(expected.AbsoluteUri, uri.AbsoluteUri);
        Assert.Equal(expected.PathAndQuery, uri.PathAndQuery);
    }

    [Fact]
    public void For_SamePathTwice_ReturnsTheSameUri()
    {
        var uris = new DestinationUris("http://127.0.0.1:5001");

        var first = uris.For(Request("/orders"));
        var second = uris.For(Request("/orders"));

        Assert.Same(first, second);
        Assert.NotSame(first, uris.For(Request("/Orders")));
    }

    [Fact]
    public void For_QueryString_LeavesItToTheForwarder()
    {
        var uris = new DestinationUris("http://127.0.0.1:5001");

        Assert.Null(uris.For(Request("/orders", "?id=1")));
    }

    [Fact]
    public void For_MorePathsThanItKeeps_BuildsNoMoreButStillServesThoseKept()
    {
        var uris = new DestinationUris("http://127.0.0.1:5001");
        for (var i = 0; i < DestinationUris.MaxPaths; i++)
            Assert.NotNull(uris.For(Request($"/p{i}")));

        Assert.Null(uris.For(Request("/one-too-many")));
        Assert.Null(uris.For(Request("/one-too-many")));
        Assert.Equal("/p0", uris.For(Request("/p0"))?.AbsolutePath);
    }

    [Fact]
    public async Task For_ConcurrentMisses_NeverKeepMoreThanMaxPaths()
    {
        var uris = new DestinationUris("http://127.0.0.1:5001");
        var kept = new System.Collections.Concurrent.ConcurrentBag<string>();

        await Parallel.ForAsync(0, DestinationUris.MaxPaths * 4, (i, _) =>
        {
            if (uris.For(Request($"/p{i % (DestinationUris.MaxPaths * 2)}")) is { } uri)
                kept.Add(uri.AbsolutePath);
            return ValueTask.CompletedTask;
        });

        Assert.InRange(kept.Distinct().Count(), 1, DestinationUris.MaxPaths);
    }

    private static HttpRequest Request(string path, string query = "")
    {
        var request = new DefaultHttpContext().Request;
        request.Path = new PathString(path);
        request.QueryString = new QueryString(query);
        return request;
    }
}
