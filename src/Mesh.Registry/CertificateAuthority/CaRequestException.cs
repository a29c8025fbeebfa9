namespace Mesh.Registry.CertificateAuthority;

/// <summary>
/// A signing request the CA refuses. <see cref="Code"/> and <see cref="StatusCode"/> are what the
/// API answers (<c>{ "error": Code, "message": Message }</c>).
/// </summary>
public sealed class CaRequestException(string code, int statusCode, string message) : Exception(message)
{
    public const string Forbidden = "Forbidden";
    public const string BadRequest = "BadRequest";

    public string Code { get; } = code;

    public int StatusCode { get; } = statusCode;

    internal static CaRequestException Refused(string message) => new(Forbidden, 403, message);

    internal static CaRequestException Invalid(string message) => new(BadRequest, 400, message);
}
