// The security sections of sidecar.yaml: `tls:` and `authorization:` (inline policies in the
// AuthorizationPolicyReader format), plus the checks that tie them to the rest of the file.
using System.Text.RegularExpressions;
using Mesh.Registry.Client.Identity;
using Mesh.Registry.Contracts;
using Mesh.Sidecar.Security;
using YamlDotNet.RepresentationModel;

namespace Mesh.Sidecar.Configuration;

internal sealed partial class BootstrapReader
{
    private TlsConfig ReadTls(MapReader? map)
    {
        if (map is null)
            return new TlsConfig();
        var mode = reader.Enum(map.Get("mode"), map.Child("mode"), ("off", TlsMode.Off), ("permissive", TlsMode.Permissive), ("strict", TlsMode.Strict));
        var token = map.String("joinToken");
        var tokenFile = map.String("joinTokenFile");
        if (token is not null && tokenFile is not null)
            reader.Error(map.Get("joinTokenFile")!, map.Child("joinTokenFile"), "set joinToken or joinTokenFile, not both");
        var trustDomain = map.String("trustDomain");
        if (trustDomain is not null && SpiffeId.ValidateTrustDomain(trustDomain) is { } error)
            reader.Error(map.Get("trustDomain")!, map.Child("trustDomain"), error);
        var tls = new TlsConfig { Mode = mode ?? TlsMode.Off, JoinToken = token, JoinTokenFile = tokenFile, TrustDomain = trustDomain };
        map.ReportUnknownFields();
        return tls;
    }

    private IReadOnlyList<AuthorizationPolicy> ReadAuthorization(YamlNode? node, string yaml)
    {
        if (node is null)
            return [];
        try
        {
            // The reader takes the whole file and reads only its `authorization:` list, so lines match.
            return AuthorizationPolicyReader.Read(yaml, reader.File);
        }
        catch (AuthorizationPolicyException e)
        {
            foreach (var problem in e.Errors)
            {
                var match = PolicyError().Match(problem);
                if (match.Success)
                    reader.Errors.Add(new ConfigError(reader.File, int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[1].Value, match.Groups[3].Value));
                else
                    reader.Error(node, "authorization", problem);
            }

            return [];
        }
    }

    /// <summary>Rules between sections: mTLS needs the registry (it is the CA); policies need caller identities.</summary>
    private void CheckSecurity(SidecarConfig config, MapReader root)
    {
        if (config.Tls.Enabled && config.Registry.Addresses.Count == 0)
            reader.Error(root.Get("tls")!, "tls.mode", $"{config.Tls.Mode.ToString().ToLowerInvariant()} needs registry.addresses (the registry is the certificate authority)");
        if (!config.Tls.Enabled && root.Get("authorization") is { } authorization)
            reader.Error(authorization, "authorization", "needs tls.mode permissive or strict (without mTLS callers have no identity to check)");
    }

    [GeneratedRegex(@"^(\S+) \(line (\d+)\): (.*)$", RegexOptions.Singleline)]
    private static partial Regex PolicyError();
}
