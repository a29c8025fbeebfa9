// The 429 answer's headers, in the IETF httpapi "RateLimit header fields" draft's structured-field
// format (draft-ietf-httpapi-ratelimit-headers, -08 and later):
//   RateLimit-Policy: "catalog";q=100;w=1     (quota q per window w seconds)
//   RateLimit: "catalog";r=0;t=1              (r remaining, t seconds until quota is available)
//   Retry-After: 1
// Sent on rejections only, so an admitted request formats nothing.
using System.Globalization;
using System.Text;
using Mesh.Sidecar.Configuration;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.RateLimiting;

internal static class RateLimitHeaders
{
    public const string PolicyHeader = "RateLimit-Policy";
    public const string LimitHeader = "RateLimit";
    public const string ErrorCode = "rate-limited";

    /// <summary>The RateLimit-Policy item for a limit whose effective number here is <paramref name="limit"/>.</summary>
    public static string Policy(RateLimitOptions options, double limit)
    {
        var name = Quote(options.Name);
        return options.Kind switch
        {
            RateLimitKind.TokenBucket when limit >= 1 => $"{name};q={Math.Round(limit).ToString(CultureInfo.InvariantCulture)};w=1",
            RateLimitKind.TokenBucket => $"{name};q=1;w={Seconds(TimeSpan.FromSeconds(1 / limit))}",
            RateLimitKind.FixedWindow or RateLimitKind.SlidingWindow => $"{name};q={(int)limit};w={Seconds(options.Window)}",
            _ => $"{name};q={(int)limit}",
        };
    }

    /// <summary>Whole seconds, rounded up, at least 1 (Retry-After and t are integers).</summary>
    public static long Seconds(TimeSpan time) => Math.Max(1, (long)Math.Ceiling(time.TotalSeconds - 1e-9));

    public static void Write(IHeaderDictionary headers, RateLimitStrategy strategy, TimeSpan retryAfter)
    {
        var seconds = Seconds(retryAfter).ToString(CultureInfo.InvariantCulture);
        headers.RetryAfter = seconds;
        headers[PolicyHeader] = strategy.PolicyHeader;
        headers[LimitHeader] = $"{Quote(strategy.Name)};r=0;t={seconds}";
    }

    /// <summary>A structured-field sf-string: printable ASCII, with '"' and '\' escaped.</summary>
    internal static string Quote(string text)
    {
        var builder = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            if (c is '"' or '\\')
                builder.Append('\\').Append(c);
            else
                builder.Append(c is >= ' ' and <= '~' ? c : '?');
        }
        return builder.Append('"').ToString();
    }
}
