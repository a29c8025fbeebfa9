using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Mesh.Cli.Inject;

/// <summary>
/// Adds the Mesh sidecar to Kubernetes workloads in a multi-document manifest, as
/// <c>linkerd inject</c> does: for each workload (Deployment, StatefulSet, DaemonSet, ReplicaSet,
/// Job, CronJob or bare Pod) it finds the pod template and applies <see cref="PodInjection"/>, the
/// same transformation the <c>mesh injector</c> webhook applies to pods. Every other document is
/// copied through byte for byte, and a workload already injected is left alone, so running it
/// twice changes nothing.
/// </summary>
internal sealed class ManifestInjector(InjectOptions options)
{
    public const string StatusAnnotation = PodInjection.StatusAnnotation;
    public const string ServiceAnnotation = PodInjection.ServiceAnnotation;

    /// <summary>Each workload kind and the path of its pod template (empty: the document is the pod).</summary>
    private static readonly Dictionary<string, string[]> TemplatePaths = new(StringComparer.Ordinal)
    {
        ["Deployment"] = ["spec", "template"],
        ["StatefulSet"] = ["spec", "template"],
        ["DaemonSet"] = ["spec", "template"],
        ["ReplicaSet"] = ["spec", "template"],
        ["Job"] = ["spec", "template"],
        ["CronJob"] = ["spec", "jobTemplate", "spec", "template"],
        ["Pod"] = [],
    };

    /// <summary>Injects into <paramref name="text"/>; throws <see cref="ManifestException"/> listing every problem.</summary>
    public string Inject(string text, string sourceName)
    {
        var documents = ManifestDocuments.Split(text, sourceName);
        var problems = new List<string>();
        var output = new StringBuilder();

        foreach (var document in documents)
        {
            var rendered = document.Text;
            if (Kind(document.Node) is { } kind && TemplatePaths.TryGetValue(kind, out var templatePath)
                && InjectWorkload(document, kind, templatePath, sourceName, problems))
                rendered = ManifestDocuments.Render(document.Node!);

            if (output.Length > 0)
                output.Append("---\n");
            output.Append(rendered.EndsWith('\n') ? rendered : rendered + "\n");
        }

        if (problems.Count > 0)
            throw new ManifestException(problems);
        return output.ToString();
    }

    /// <summary>Injects one workload's pod template; true when it changed.</summary>
    private bool InjectWorkload(ManifestDocument document, string kind, string[] templatePath, string sourceName, List<string> problems)
    {
        var root = document.Node as YamlMappingNode;
        var name = Scalar(root, "metadata", "name") ?? "";
        var line = (int)(root?.Start.Line ?? document.Start.Line);
        var subject = $"{kind} '{name}'";
        var where = $"{sourceName}:{line}: {subject}";
        if (name.Length == 0)
            problems.Add($"{where}: metadata.name is missing");

        YamlNode? template = root;
        foreach (var key in templatePath)
            template = template is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;
        var specPath = string.Join('.', templatePath.Append("spec"));
        if (template is not YamlMappingNode templateMapping)
        {
            problems.Add($"{where}: {specPath} is missing");
            return false;
        }

        var site = new PodSite(sourceName, line, subject, specPath, Scalar(root, "metadata", "namespace") ?? "default", name);
        var result = PodInjection.Inject(templateMapping, site, options);
        problems.AddRange(result.Problems);
        return result.Status == PodInjectionStatus.Injected && name.Length > 0;
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
