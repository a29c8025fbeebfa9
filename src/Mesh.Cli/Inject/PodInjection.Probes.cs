using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Inject;

internal sealed partial class PodInjection
{
    /// <summary>
    /// An app container's <c>httpGet</c> probe. With strict mTLS the pod's iptables rules send the
    /// kubelet's plaintext probe of an app port to the sidecar's inbound listener, which refuses
    /// it; so, as Istio does, the probe is rewritten to the admin port's <c>/app-health/{Name}</c>
    /// and the sidecar calls the app's original target itself (its <c>appProbes:</c>).
    /// </summary>
    private sealed record AppProbe(string Name, YamlMappingNode HttpGet, int Port, string Path, string Scheme, int TimeoutSeconds);

    private static readonly (string Field, string Kind)[] ProbeFields = [("readinessProbe", "readiness"), ("livenessProbe", "liveness"), ("startupProbe", "startup")];

    /// <summary>Every app container's httpGet probe, with its port resolved; tcpSocket, exec and grpc probes need no rewrite.</summary>
    private void FindAppProbes(YamlSequenceNode containers, List<string> problems)
    {
        for (var i = 0; i < containers.Children.Count; i++)
        {
            if (containers.Children[i] is not YamlMappingNode container)
                continue;
            var containerName = ManifestInjector.Scalar(container, "name") ?? $"container-{i}";
            foreach (var (field, probeKind) in ProbeFields)
            {
                if (Child(container, field) is not YamlMappingNode probe || Child(probe, "httpGet") is not YamlMappingNode httpGet)
                    continue;
                // A probe of another host is not redirected by the pod's rules.
                if (ManifestInjector.Scalar(httpGet, "host") is { Length: > 0 })
                    continue;
                var at = $"{_site.At(httpGet)}: {_site.SpecPath}.containers[{i}].{field}.httpGet";
                var portText = ManifestInjector.Scalar(httpGet, "port");
                int port;
                if (portText is null)
                {
                    problems.Add($"{at}.port is missing");
                    continue;
                }
                if (int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535)
                {
                }
                else if (NamedPort(container, portText) is { } named)
                {
                    port = named;
                }
                else
                {
                    problems.Add($"{at}.port: '{portText}' is neither a port number nor the name of one of container '{containerName}''s ports");
                    continue;
                }
                var scheme = (ManifestInjector.Scalar(httpGet, "scheme") ?? "HTTP").ToUpperInvariant();
                if (scheme is not ("HTTP" or "HTTPS"))
                {
                    problems.Add($"{at}.scheme: must be HTTP or HTTPS, not '{scheme}'");
                    continue;
                }
                var path = ManifestInjector.Scalar(httpGet, "path") is { Length: > 0 } given ? given : "/";
                if (!path.StartsWith('/'))
                    path = "/" + path;
                var timeout = int.TryParse(ManifestInjector.Scalar(probe, "timeoutSeconds"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds >= 1 ? seconds : 1;
                _appProbes.Add(new AppProbe($"{containerName}-{probeKind}", httpGet, port, path, scheme.ToLowerInvariant(), timeout));
            }
        }
    }

    /// <summary>The containerPort of the container's port named <paramref name="name"/>.</summary>
    private static int? NamedPort(YamlMappingNode container, string name)
    {
        if (Child(container, "ports") is not YamlSequenceNode ports)
            return null;
        foreach (var port in ports.Children)
        {
            if (ManifestInjector.Scalar(port, "name") == name
                && int.TryParse(ManifestInjector.Scalar(port, "containerPort"), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                && number is >= 1 and <= 65535)
                return number;
        }
        return null;
    }
}
