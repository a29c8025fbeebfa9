using System.Net;
using System.Text.Json;

namespace Mesh.Registry.Tests.Api;

/// <summary>Reads the contract's error answer <c>{ error, message }</c>, failing with the body when the status is not the expected one.</summary>
internal static class ApiAnswers
{
    public static async Task<(string Code, string Message)> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        return (json.RootElement.GetProperty("error").GetString()!, json.RootElement.GetProperty("message").GetString()!);
    }
}
