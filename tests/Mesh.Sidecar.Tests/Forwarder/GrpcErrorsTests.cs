using Mesh.Sidecar.Forwarder;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Forwarder;

/// <summary>Sidecar-made errors in the terms a gRPC client reads: grpc-status and a percent-encoded grpc-message.</summary>
public sealed class GrpcErrorsTests
{
    [Theory]
    [InlineData(StatusCodes.Status504GatewayTimeout, GrpcErrors.DeadlineExceeded)]
    [InlineData(StatusCodes.Status503ServiceUnavailable, GrpcErrors.Unavailable)]
    [InlineData(StatusCodes.Status502BadGateway, GrpcErrors.Unavailable)]
    [InlineData(StatusCodes.Status403Forbidden, GrpcErrors.PermissionDenied)]
    [InlineData(StatusCodes.Status429TooManyRequests, GrpcErrors.ResourceExhausted)]
    public void EachSidecarError_HasItsGrpcStatus(int httpStatus, int grpcStatus) =>
        Assert.Equal(grpcStatus, GrpcErrors.StatusFor(httpStatus));

    [Theory]
    [InlineData("mesh: route 'a' timed out", "mesh: route 'a' timed out")]
    [InlineData("100% busy", "100%25 busy")]
    [InlineData("naïve\n", "na%C3%AFve%0A")]
    public void GrpcMessage_KeepsVisibleAscii_AndPercentEncodesTheRest(string message, string encoded) =>
        Assert.Equal(encoded, GrpcErrors.PercentEncode(message));

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/grpc-web+proto", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void OnlyGrpcProper_IsForcedToHttp2(string? contentType, bool isGrpc)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = contentType;

        Assert.Equal(isGrpc, UpstreamVersion.IsGrpc(context.Request));
        Assert.Equal(isGrpc, ReferenceEquals(UpstreamVersion.Http2Exact, UpstreamVersion.For(context, new())));
    }
}
