using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Inject;

/// <summary>
/// Adds the Mesh sidecar to Kubernetes workloads in a multi-document manifest, as
/// <c>linkerd inject</c> does: for each Deployment, StatefulSet or DaemonSet it adds the
/// interception init container, the sidecar container with probes and resources, the
/// annotations, and a ConfigMap holding the sidecar's configuration. Every other document is
/// copied through byte for byte, and a workload already injected is left alone, so running it
/// twice changes nothing.
/// </summary>
internal sealed class ManifestInjector(InjectOptions options)
{
    public const string StatusAnnotation = "mesh.dev/inject-status";
    public const string ServiceAnnotation = "mesh.dev/service";
    private static readonly HashSet<string> WorkloadKinds = ["Deployment", "StatefulSet", "DaemonSet"];

    /// <summary>Injects into <paramref name="text"/>; throws <see cref="ManifestException"/> listing every problem.</summary>
    public string Inject(string text, string sourceName)
    {
        var documents = ManifestDocuments.Split(text, sourceName);
        var problems = new List<string>();
        var output = new StringBuilder();
        var existingConfigMaps = documents
            .Where(d => Kind(d.Node) == "ConfigMap")
            .Select(d => Scalar(d.Node, "metadata", "name"))
            .ToHashSet(StringComparer.Ordinal);

        foreach (var document in documents)
        {
            var kind = Kind(document.Node);
            string rendered;
            if (kind is not null && WorkloadKinds.Contains(kind))
            {
                var workload = new WorkloadInjection(document, sourceName, options, problems);
                if (workload.AlreadyInjected || !workload.IsValid)
                {
                    rendered = document.Text;
                }
                else
                {
                    workload.Apply();
                    rendered = ManifestDocuments.Render(document.Node!);
                    var configMap = workload.ConfigMapName;
                    if (!existingConfigMaps.Contains(configMap))
                        rendered += "---\n" + ManifestDocuments.Render(workload.BuildConfigMap());
                }
            }
            else
            {
                rendered = document.Text;
            }

            if (output.Length > 0)
                output.Append("---\n");
            output.Append(rendered.EndsWith('\n') ? rendered : rendered + "\n");
        }

        if (problems.Count > 0)
            throw new ManifestException(problems);
        return output.ToString();
    }

    internal static string? Kind(YamlNode? node) => Scalar(node, "kind");

    internal static string? Scalar(YamlNode? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out node))
                return null;
        }

        return (node as YamlScalarNode)?.Value;
    }
}

/// <summary>The manifest could not be injected; every problem found is listed, with its place.</summary>
internal sealed class ManifestException(IReadOnlyList<string> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>One YAML document of a manifest: its original text and its parsed tree.</summary>
internal sealed record ManifestDocument(int Number, string Text, YamlNode? Node, Mark Start);

internal static class ManifestDocuments
{
    /// <summary>Splits a multi-document YAML text into documents, keeping each one's exact text.</summary>
    public static List<ManifestDocument> Split(string text, string sourceName)
    {
        var spans = new List<(int Start, int End, Mark Mark)>();
        var stream = new YamlStream();
        try
        {
            var parser = new Parser(new StringReader(text));
            // A document's text runs from the end of the previous one, so comments above it stay with it.
            var start = 0;
            Mark startMark = Mark.Empty;
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case DocumentStart ds:
                        startMark = ds.Start;
                        break;
                    case DocumentEnd de:
                        spans.Add((start, (int)de.End.Index, startMark));
                        start = (int)de.End.Index;
                        break;
                }
            }

            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new ManifestException([$"{sourceName}:{ex.Start.Line}:{ex.Start.Column}: invalid YAML: {ex.InnerException?.Message ?? ex.Message}"]);
        }

        var documents = new List<ManifestDocument>(spans.Count);
        for (var i = 0; i < spans.Count; i++)
        {
            var (from, to, mark) = spans[i];
            var body = StripDocumentMarkers(text[from..Math.Min(to, text.Length)]);
            documents.Add(new ManifestDocument(i, body, stream.Documents[i].RootNode, mark));
        }

        return documents;
    }

    /// <summary>
    /// Drops the <c>---</c> separator line (keeping comments around it) and a trailing <c>...</c>;
    /// the injector writes its own separators.
    /// </summary>
    private static string StripDocumentMarkers(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        var separator = lines.FindIndex(l => l == "---" || l.StartsWith("--- ", StringComparison.Ordinal));
        if (separator >= 0 && lines.Take(separator).All(l => l.Length == 0 || l.TrimStart().StartsWith('#')))
            lines.RemoveAt(separator);
        var trimmed = string.Join('\n', lines).Trim('\n').TrimEnd();
        if (trimmed.EndsWith("\n...", StringComparison.Ordinal))
            trimmed = trimmed[..^4];
        return trimmed + "\n";
    }

    public static string Render(YamlNode node)
    {
        var stream = new YamlStream(new YamlDocument(node));
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
        // YamlStream writes a "..." document end marker; the separators are ours.
        if (text.EndsWith("...\n", StringComparison.Ordinal))
            text = text[..^4];
        return text;
    }
}
