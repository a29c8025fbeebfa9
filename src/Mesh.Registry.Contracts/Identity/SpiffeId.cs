// The workload identity every mesh certificate carries as its only URI SAN:
// spiffe://{trustDomain}/ns/{namespace}/sa/{service}. Both the CA (which writes it) and the
// sidecars (which read and compare it) use this one type, so the format lives in one place.
using System.Diagnostics.CodeAnalysis;

namespace Mesh.Registry.Contracts;

/// <summary>A parsed, validated mesh SPIFFE id. Compare with <c>==</c>; format with <see cref="ToString"/>.</summary>
public readonly record struct SpiffeId
{
    public const string Scheme = "spiffe";
    private const int MaxSegmentLength = 253;

    private SpiffeId(string trustDomain, string @namespace, string service)
    {
        TrustDomain = trustDomain;
        Namespace = @namespace;
        Service = service;
    }

    public string TrustDomain { get; }

    public string Namespace { get; }

    /// <summary>The service (the SPIFFE "service account" segment, <c>sa</c>).</summary>
    public string Service { get; }

    /// <summary>Builds an id from its parts; throws <see cref="ArgumentException"/> naming the bad part.</summary>
    public static SpiffeId Create(string trustDomain, string @namespace, string service)
    {
        if (ValidateTrustDomain(trustDomain) is { } tdError)
            throw new ArgumentException(tdError, nameof(trustDomain));
        if (ValidateSegment(@namespace, "namespace") is { } nsError)
            throw new ArgumentException(nsError, nameof(@namespace));
        if (ValidateSegment(service, "service") is { } saError)
            throw new ArgumentException(saError, nameof(service));
        return new SpiffeId(trustDomain, @namespace, service);
    }

    public static SpiffeId Parse(string text) =>
        TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse(string? text, out SpiffeId id) => TryParse(text, out id, out _);

    public static bool TryParse(string? text, out SpiffeId id, [NotNullWhen(false)] out string? error)
    {
        id = default;
        const string prefix = Scheme + "://";
        if (string.IsNullOrEmpty(text) || !text.StartsWith(prefix, StringComparison.Ordinal))
        {
            error = $"'{text}' is not a SPIFFE id (expected spiffe://trust-domain/ns/NAMESPACE/sa/SERVICE)";
            return false;
        }

        var parts = text[prefix.Length..].Split('/');
        if (parts.Length != 5 || parts[1] != "ns" || parts[3] != "sa")
        {
            error = $"'{text}' is not a mesh SPIFFE id (expected spiffe://trust-domain/ns/NAMESPACE/sa/SERVICE)";
            return false;
        }

        error = ValidateTrustDomain(parts[0]) ?? ValidateSegment(parts[2], "namespace") ?? ValidateSegment(parts[4], "service");
        if (error is not null)
        {
            error = $"'{text}': {error}";
            return false;
        }

        id = new SpiffeId(parts[0], parts[2], parts[4]);
        return true;
    }

    /// <summary>The id as a URI, for the certificate's subject alternative name.</summary>
    public Uri ToUri() => new(ToString());

    public override string ToString() =>
        TrustDomain is null ? "" : $"{Scheme}://{TrustDomain}/ns/{Namespace}/sa/{Service}";

    /// <summary>SPIFFE trust domains: lowercase letters, digits, '.', '-', '_'.</summary>
    public static string? ValidateTrustDomain(string? trustDomain)
    {
        if (string.IsNullOrEmpty(trustDomain))
            return "the trust domain is empty";
        if (trustDomain.Length > 255)
            return "the trust domain is longer than 255 characters";
        foreach (var c in trustDomain)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_'))
                return $"the trust domain '{trustDomain}' has '{c}' (allowed: a-z 0-9 . - _)";
        }

        return null;
    }

    /// <summary>SPIFFE path segments: letters, digits, '.', '-', '_'; not "." or "..".</summary>
    public static string? ValidateSegment(string? segment, string what)
    {
        if (string.IsNullOrEmpty(segment))
            return $"the {what} is empty";
        if (segment.Length > MaxSegmentLength)
            return $"the {what} is longer than {MaxSegmentLength} characters";
        if (segment is "." or "..")
            return $"the {what} may not be '{segment}'";
        foreach (var c in segment)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_'))
                return $"the {what} '{segment}' has '{c}' (allowed: letters, digits, . - _)";
        }

        return null;
    }
}
