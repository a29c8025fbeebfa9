// Secure naming: a service name belongs to one namespace, recorded as the data of the service's
// own node, /services/{service}, as JSON {"namespace": "shop"}. Only an admin token, or the
// registry itself when a join token's first registration claims the name, writes that node; a
// caller of the service accepts exactly the SPIFFE id spiffe://{trust domain}/ns/{owner}/sa/{service}.
// Nothing an instance writes about itself (its labels) decides it. See docs/security.md.
using System.Text;
using System.Text.Json;

namespace Mesh.Registry.Contracts;

/// <summary>The namespace that owns a service name.</summary>
public sealed record ServiceOwner(string Namespace)
{
    /// <summary>The record as stored: <c>{"namespace":"shop"}</c>.</summary>
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, RegistryJson.Default.ServiceOwner);

    /// <summary>The owner for a namespace given on a command line or in a request; throws <see cref="ArgumentException"/> naming the problem.</summary>
    public static ServiceOwner Of(string @namespace) =>
        SpiffeId.ValidateSegment(@namespace, "namespace") is { } error ? throw new ArgumentException(error, nameof(@namespace)) : new ServiceOwner(@namespace);

    /// <summary>
    /// Reads the data of /services/{service}: null with no error when the name is unclaimed (no
    /// data), null with an error saying why when the data is not a valid ownership record.
    /// </summary>
    public static ServiceOwner? Parse(ReadOnlySpan<byte> data, out string? error)
    {
        error = null;
        if (data.IsEmpty)
            return null;
        try
        {
            var reader = new Utf8JsonReader(data);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("namespace", out var ns)
                && ns.ValueKind == JsonValueKind.String)
            {
                var value = ns.GetString()!;
                if (SpiffeId.ValidateSegment(value, "namespace") is { } invalid)
                {
                    error = "the owner record's " + invalid;
                    return null;
                }
                return new ServiceOwner(value);
            }
            error = "the owner record is not {\"namespace\": \"NAMESPACE\"}";
            return null;
        }
        catch (JsonException)
        {
            error = $"the owner record is not JSON ({Math.Min(data.Length, 64)} of {data.Length} bytes: '{Encoding.UTF8.GetString(data[..Math.Min(data.Length, 64)])}')";
            return null;
        }
    }

    /// <summary>The one identity a caller of <paramref name="service"/> accepts.</summary>
    public SpiffeId IdentityOf(string trustDomain, string service) => SpiffeId.Create(trustDomain, Namespace, service);

    public override string ToString() => $"namespace '{Namespace}'";
}
