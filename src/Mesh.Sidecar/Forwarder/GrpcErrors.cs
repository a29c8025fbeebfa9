// Errors the sidecar makes itself, said so that a gRPC caller understands them: a gRPC client
// reads grpc-status and grpc-message, and turns a bare HTTP 504 into a vague UNAVAILABLE "bad gRPC
// response". A trailers-only response (HTTP 200, the status in the headers, no body) carries the
// mesh's own status and reason instead; the x-mesh-error header stays for tools and tests.
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Forwarder;

internal static class GrpcErrors
{
    public const int DeadlineExceeded = 4;
    public const int PermissionDenied = 7;
    public const int ResourceExhausted = 8;
    public const int Unavailable = 14;

    /// <summary>The gRPC status for a sidecar error of HTTP status <paramref name="httpStatus"/>.</summary>
    public static int StatusFor(int httpStatus) => httpStatus switch
    {
        // The route timeout is a deadline the mesh set.
        StatusCodes.Status504GatewayTimeout => DeadlineExceeded,
        StatusCodes.Status403Forbidden => PermissionDenied,
        StatusCodes.Status429TooManyRequests => ResourceExhausted,
        _ => Unavailable,
    };

    /// <summary>Turns the (not yet started) response into a trailers-only gRPC error.</summary>
    public static void Write(HttpResponse response, int httpStatus, string message)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = StatusFor(httpStatus).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(message);
    }

    /// <summary>grpc-message is percent-encoded UTF-8: visible ASCII stays, everything else and '%' is %XX.</summary>
    internal static string PercentEncode(string message)
    {
        var builder = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E && b != '%')
                builder.Append((char)b);
            else
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }
}
