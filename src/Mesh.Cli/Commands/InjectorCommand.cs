using System.CommandLine;
using System.Net;
using Mesh.Cli.Inject;
using Mesh.Cli.Injector;
using Mesh.Registry.Client;
using Mesh.Registry.Client.Identity;
using Microsoft.Extensions.Logging;

namespace Mesh.Cli.Commands;

/// <summary>
/// <c>mesh injector</c>: the mutating admission webhook that injects the sidecar into pods as they
/// are created (deploy/k8s/injector.yaml), with the same transformation as <c>mesh inject</c>.
/// Its serving certificate comes from PEM files, or from the mesh CA for a join token.
/// </summary>
internal static class InjectorCommand
{
    public const string DefaultListen = "0.0.0.0:8443";

    public static Command Create()
    {
        var listen = new Option<string>("--listen", "-l") { Description = $"HTTPS address the webhook is served on (default {DefaultListen}; port 0 picks a free one).", DefaultValueFactory = _ => DefaultListen };
        var cert = new Option<string?>("--cert") { Description = "Serving certificate (PEM; intermediates may follow the leaf). With --key; without both, the certificate comes from the mesh CA." };
        var key = new Option<string?>("--key") { Description = "The serving certificate's private key (PEM)." };
        var token = new Option<string?>("--token") { Description = $"Join (or admin) token for a certificate from the mesh CA (default: ${Mesh.Sidecar.Configuration.TlsConfig.JoinTokenVariable})." };
        var identity = new Option<string>("--identity") { Description = "namespace/service of the mesh CA certificate.", DefaultValueFactory = _ => "mesh-system/mesh-injector" };
        var image = new Option<string>("--image") { Description = "The mesh image for the sidecar and init containers.", DefaultValueFactory = _ => new InjectOptions().Image };
        var registry = new Option<string>("--registry") { Description = "Registry address the sidecars use (and the injector asks for its certificate).", DefaultValueFactory = _ => new InjectOptions().Registry };
        var failurePolicy = new Option<FailurePolicy>("--failure-policy") { Description = "Fail (refuse) or Ignore (admit unchanged) a pod that cannot be injected; keep it equal to the webhook configuration's failurePolicy.", DefaultValueFactory = _ => FailurePolicy.Fail };
        var layout = InjectLayoutOption.Create();
        var command = new Command("injector", "Serve the mutating admission webhook that adds the sidecar to pods of opted-in namespaces and workloads.")
        {
            listen, cert, key, token, identity, image, registry, layout, failurePolicy,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var error = result.InvocationConfiguration.Error;
            var text = result.GetValue(listen)!;
            if (!IPEndPoint.TryParse(text, out var endPoint) || (endPoint.Port == 0 && !text.EndsWith(":0", StringComparison.Ordinal)))
            {
                error.WriteLine($"mesh injector: --listen: '{text}' is not an address:port (e.g. {DefaultListen})");
                return 2;
            }
            var (certPath, keyPath) = (result.GetValue(cert), result.GetValue(key));
            if ((certPath is null) != (keyPath is null))
            {
                error.WriteLine("mesh injector: --cert and --key go together");
                return 2;
            }

            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Information));
            var logger = loggers.CreateLogger("Mesh.Injector");
            var options = new InjectOptions { Image = result.GetValue(image)!, Registry = result.GetValue(registry)!, Layout = result.GetValue(layout) };
            CertificateRotator? rotator = null;
            IWorkloadCertificateSource certificates;
            try
            {
                if (certPath is not null)
                {
                    certificates = new PemFileCertificateSource(certPath, keyPath!);
                }
                else
                {
                    var joinToken = result.GetValue(token) ?? Environment.GetEnvironmentVariable(Mesh.Sidecar.Configuration.TlsConfig.JoinTokenVariable);
                    if (string.IsNullOrEmpty(joinToken))
                    {
                        error.WriteLine($"mesh injector: give --cert and --key, or a token (--token or ${Mesh.Sidecar.Configuration.TlsConfig.JoinTokenVariable}) for a certificate from the mesh CA");
                        return 2;
                    }
                    rotator = await MeshCaCertificate.StartAsync(options.Registry, joinToken, result.GetValue(identity)!, cancellationToken);
                    certificates = rotator;
                }
            }
            catch (Exception e) when (e is InvalidDataException or RegistryException or HttpRequestException or ArgumentException)
            {
                error.WriteLine($"mesh injector: {e.Message}");
                return 1;
            }

            await using var rotation = rotator;
            await using var server = new InjectorServer(new AdmissionReviewHandler(options, result.GetValue(failurePolicy)), endPoint, certificates, logger);
            try
            {
                await server.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                error.WriteLine($"mesh injector: cannot listen on {text}: {e.Message}");
                return 1;
            }

            result.InvocationConfiguration.Output.WriteLine($"injector: {server.Url}   (Ctrl+C to stop)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        });
        return command;
    }
}
