using System.Globalization;
using Mesh.Common.Time;
using Microsoft.AspNetCore.Http;

namespace Mesh.Registry.Api;

/// <summary>Query-string values; a malformed one is a 400, never silently ignored.</summary>
internal static class Query
{
    public static bool Bool(HttpContext context, string name) =>
        Bool(name, context.Request.Query[name].ToString(), context.Request.Query.ContainsKey(name));

    /// <summary>A flag given as <paramref name="text"/> (present with no value counts as true).</summary>
    public static bool Bool(string name, string text, bool present) => text switch
    {
        "" => present,
        "true" or "1" => true,
        "false" or "0" => false,
        _ => throw ApiException.BadRequest($"{name}='{text}' is not true or false"),
    };

    public static long? Long(HttpContext context, string name) => Long(name, context.Request.Query[name].ToString());

    public static long? Long(string name, string text)
    {
        if (text.Length == 0)
            return null;
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ApiException.BadRequest($"{name}='{text}' is not an integer");
    }

    /// <summary>Mesh's one duration syntax (<see cref="Durations"/>): <c>500ms</c>, <c>30s</c>, <c>2m</c>; null for anything else.</summary>
    public static TimeSpan? Duration(string text) => Durations.TryParse(text, out var value) ? value : null;
}
