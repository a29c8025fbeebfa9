using System.Net;
using Mesh.Cli.Inject;
using Mesh.Sidecar.Configuration;
using Mesh.Sidecar.Hosting;
using Microsoft.AspNetCore.Http;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Tests.Inject;

/// <summary>
/// The app containers' own httpGet probes: rewritten to the sidecar admin port's
/// /app-health/{name}, their original targets kept in the sidecar's appProbes.
/// </summary>
public sealed class AppProbeInjectionTests
{
    private static readonly int AdminPort = new InjectOptions().AdminPort;
    private readonly ManifestInjector _injector = new(new InjectOptions());

    private static string Manifest(int httpPort = 8080) => $$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: { name: web, namespace: shop }
        spec:
          template:
            metadata: { labels: { app: web } }
            spec:
              containers:
                - name: web
                  image: web:1
                  ports: [{ name: http, containerPort: {{httpPort}} }, { name: metrics, containerPort: 9090 }]
                  readinessProbe: { httpGet: { path: /ready, port: http }, timeoutSeconds: 3, periodSeconds: 2 }
                  livenessProbe: { tcpSocket: { port: {{httpPort}} } }
                  startupProbe: { httpGet: { path: "/started?deep=1", port: 9090, scheme: HTTPS, httpHeaders: [{ name: x-probe, value: "1" }] } }
                - name: worker
                  image: worker:1
                  livenessProbe: { exec: { command: ["true"] } }
                  readinessProbe: { grpc: { port: 9000 } }
        """;

    [Fact]
    public void Inject_AppHttpGetProbes_PointAtTheAdminPortsAppHealthPath()
    {
        var web = Container(_injector.Inject(Manifest(), "m.yaml"), "web");

        var readiness = (YamlMappingNode)web["readinessProbe"]["httpGet"];
        Assert.Equal(AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(readiness, "port"));
        Assert.Equal("/app-health/web-readiness", Scalar(readiness, "path"));
        Assert.Equal("3", Scalar(web["readinessProbe"], "timeoutSeconds"));
        var startup = (YamlMappingNode)web["startupProbe"]["httpGet"];
        Assert.Equal(AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Scalar(startup, "port"));
        Assert.Equal("/app-health/web-startup", Scalar(startup, "path"));
        // The admin listener is plaintext; the app's scheme moves to appProbes. Headers stay.
        Assert.Null(Scalar(startup, "scheme"));
        Assert.IsType<YamlSequenceNode>(startup["httpHeaders"]);
    }

    [Theory]
    [InlineData("native")]
    [InlineData("classic")]
    public void Inject_InBothLayouts_AppProbesAreRewritten_InterceptionRunsFirst_AndTheSidecarRunsAsTheExcludedUser(string layoutName)
    {
        SidecarLayouts.TryParse(layoutName, out var layout);
        var options = new InjectOptions { Layout = layout };

        var output = new ManifestInjector(options).Inject(Manifest(), "m.yaml");

        Assert.Equal("/app-health/web-readiness", Scalar(Container(output, "web")["readinessProbe"]["httpGet"], "path"));
        Assert.Equal(["web-readiness", "web-startup"], SidecarConfig(output).AppProbes.Keys.Order(StringComparer.Ordinal));
        var deployment = Documents(output).Single(d => Scalar(d, "kind") == "Deployment");
        var init = (YamlMappingNode)((YamlSequenceNode)deployment["spec"]["template"]["spec"]["initContainers"]).Children[0];
        Assert.Equal("mesh-init", Scalar(init, "name"));
        var args = ((YamlSequenceNode)init["args"]).Children.Select(a => ((YamlScalarNode)a).Value).ToList();
        var uid = options.ProxyUid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(uid, args[args.IndexOf("--proxy-uid") + 1]);
        Assert.Equal(uid, Scalar(Container(output, "mesh-sidecar")["securityContext"], "runAsUser"));
    }

    [Fact]
    public void Inject_NonHttpGetProbes_AreUntouched()
    {
        var output = _injector.Inject(Manifest(), "m.yaml");

        var web = Container(output, "web");
        Assert.Equal("8080", Scalar(web["livenessProbe"]["tcpSocket"], "port"));
        var worker = Container(output, "worker");
        Assert.Equal("true", ((YamlScalarNode)((YamlSequenceNode)worker["livenessProbe"]["exec"]["command"]).Children.Single()).Value);
        Assert.Equal("9000", Scalar(worker["readinessProbe"]["grpc"], "port"));
        Assert.False(((YamlMappingNode)worker).Children.ContainsKey(new YamlScalarNode("startupProbe")));
        // The sidecar's own probes are its admin endpoints, not app probes.
        var sidecar = Container(output, "mesh-sidecar");
        Assert.Equal("/readyz", Scalar(sidecar["readinessProbe"]["httpGet"], "path"));
        Assert.Equal("/healthz", Scalar(sidecar["livenessProbe"]["httpGet"], "path"));
    }

    [Fact]
    public void Inject_TheSidecarConfig_LoadsAndHoldsTheOriginalProbeTargets_NamedPortsResolved()
    {
        var config = SidecarConfig(_injector.Inject(Manifest(), "m.yaml"));

        Assert.Equal(["web-readiness", "web-startup"], config.AppProbes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new AppProbeConfig { Port = 8080, Path = "/ready", Scheme = AppProbeScheme.Http, Timeout = TimeSpan.FromSeconds(3) }, config.AppProbes["web-readiness"]);
        Assert.Equal(new AppProbeConfig { Port = 9090, Path = "/started?deep=1", Scheme = AppProbeScheme.Https, Timeout = TimeSpan.FromSeconds(1) }, config.AppProbes["web-startup"]);
    }

    [Fact]
    public void Inject_NoHttpGetProbes_NoAppProbesSection()
    {
        const string input = "kind: Deployment\nmetadata: { name: a }\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          livenessProbe: { tcpSocket: { port: 8080 } }\n";

        var output = _injector.Inject(input, "m.yaml");

        Assert.DoesNotContain("appProbes", output, StringComparison.Ordinal);
        Assert.Empty(SidecarConfig(output).AppProbes);
    }

    [Fact]
    public void Inject_WithAppProbes_Twice_ChangesNothingTheSecondTime()
    {
        var once = _injector.Inject(Manifest(), "m.yaml");

        var twice = _injector.Inject(once, "m.yaml");

        Assert.Equal(once, twice);
    }

    [Fact]
    public void Inject_ProbeOnAPortNameTheContainerDoesNotHave_IsRefusedWithItsPlace()
    {
        var input = Manifest().Replace("port: http }", "port: grpc }", StringComparison.Ordinal);

        var ex = Assert.Throws<ManifestException>(() => _injector.Inject(input, "m.yaml"));

        var problem = Assert.Single(ex.Problems);
        Assert.StartsWith("m.yaml:12: Deployment 'web': spec.template.spec.containers[0].readinessProbe.httpGet.port: 'grpc' is neither a port number nor the name", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inject_TheRewrittenProbe_AskedOfARealSidecarStartedFromTheInjectedConfig_ReachesTheAppsOriginalPath()
    {
        var seen = new List<string>();
        await using var app = await TestApp.StartAsync(context =>
        {
            lock (seen)
                seen.Add(context.Request.Path.Value!);
            context.Response.StatusCode = context.Request.Path == "/ready" ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError;
            return Task.CompletedTask;
        });
        var output = _injector.Inject(Manifest(app.Port), "m.yaml");
        var config = SidecarConfig(output) with
        {
            // Free loopback ports instead of the pod's; the kubelet's probe goes to the admin port.
            Listeners = new ListenersConfig
            {
                Outbound = new ListenerConfig { Address = "127.0.0.1", Port = 0 },
                Inbound = new ListenerConfig { Address = "127.0.0.1", Port = 0 },
                Admin = new ListenerConfig { Address = "127.0.0.1", Port = 0 },
            },
        };
        await using var sidecar = new SidecarHost(config, new SidecarHostOptions { ConfigureLogging = _ => { } });
        await sidecar.StartAsync(CancellationToken.None);
        using var kubelet = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = sidecar.AdminUrl };

        var path = Scalar(Container(output, "web")["readinessProbe"]["httpGet"], "path");
        using var response = await kubelet.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        lock (seen)
            Assert.Equal(["/ready"], seen);
    }

    private static SidecarConfig SidecarConfig(string output)
    {
        var deployment = Documents(output).Single(d => Scalar(d, "kind") == "Deployment");
        return SidecarConfigLoader.Parse(Scalar(deployment["spec"]["template"]["metadata"]["annotations"], PodInjection.ConfigAnnotation)!);
    }

    private static YamlMappingNode Container(string output, string name)
    {
        var deployment = Documents(output).Single(d => Scalar(d, "kind") == "Deployment");
        var spec = (YamlMappingNode)deployment["spec"]["template"]["spec"];
        // The sidecar is an init container (native layout); the app's are containers.
        return new[] { "containers", "initContainers" }.Where(f => spec.Children.ContainsKey(new YamlScalarNode(f)))
            .SelectMany(f => ((YamlSequenceNode)spec[f]).Children.Cast<YamlMappingNode>()).Single(c => Scalar(c, "name") == name);
    }

    private static IEnumerable<YamlMappingNode> Documents(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode);
    }

    private static string? Scalar(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;
}
