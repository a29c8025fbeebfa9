// The CA's secret and public material as bytes, for the replicated tree under /mesh/ca. The
// private key is in here: store it only where the registry keeps its state and never serve it.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Registry.CertificateAuthority;

/// <param name="TrustDomain">The mesh trust domain every workload id is in.</param>
/// <param name="SigningKey">The signing key, PKCS#8 DER (secret).</param>
/// <param name="SigningCertificate">The signing certificate, DER: the root itself, or an intermediate.</param>
/// <param name="Intermediates">DER certificates between the signing certificate and a root, excluding both (usually empty).</param>
/// <param name="Roots">The trust bundle, DER: the current root first, then any root still trusted during a rotation.</param>
public sealed record CaMaterial(
    string TrustDomain,
    byte[] SigningKey,
    byte[] SigningCertificate,
    IReadOnlyList<byte[]> Intermediates,
    IReadOnlyList<byte[]> Roots)
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CaJson.Default.CaMaterial);

    public static CaMaterial FromBytes(ReadOnlySpan<byte> bytes)
    {
        CaMaterial? material;
        try
        {
            material = JsonSerializer.Deserialize(bytes, CaJson.Default.CaMaterial);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"CA material is not valid: {ex.Message}", ex);
        }

        if (material is null || material.Format != CurrentFormat)
            throw new FormatException($"CA material has format {material?.Format}, this build reads {CurrentFormat}");
        if (material.SigningKey is not { Length: > 0 } || material.SigningCertificate is not { Length: > 0 } || material.Roots is not { Count: > 0 })
            throw new FormatException("CA material lacks its key, certificate or roots");
        return material;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CaMaterial))]
[JsonSerializable(typeof(JoinTokenRecord))]
internal sealed partial class CaJson : JsonSerializerContext;
