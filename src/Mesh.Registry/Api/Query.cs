using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

/// <summary>Query-string values; a malformed one is a 400, never silently ignored.</summary>
internal static class Query
{
    public static bool Bool(HttpContext context, string name)
    {
        var text = context.Request.Query[name].ToString();
        return text switch
        {
            "" => context.Request.Query.ContainsKey(name),
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw ApiException.BadRequest($"{name}='{text}' is not true or false"),
        };
    }

    public static long? Long(HttpContext context, string name)
    {
        var text = context.Request.Query[name].ToString();
        if (text.Length == 0)
            return null;
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ApiException.BadRequest($"{name}='{text}' is not an integer");
    }

    /// <summary><c>500ms</c>, <c>30s</c>, <c>2m</c>, or a bare number of seconds.</summary>
    public static TimeSpan? Duration(string text)
    {
        var (number, scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 1.0),
            _ when text.EndsWith('s') => (text[..^1], 1000.0),
            _ when text.EndsWith('m') => (text[..^1], 60_000.0),
            _ => (text, 1000.0),
        };
        return double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? TimeSpan.FromMilliseconds(value * scale)
            : null;
    }
}
