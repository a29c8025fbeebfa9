// A routes file for `mesh ctl apply -f routes.yaml`: a `routes:` list in the route schema of
// sidecar.yaml. Each route becomes its own registry document /config/routes/{name}, kept as YAML
// text so it reads the same in the registry as in the file. Everything is validated before
// anything is pushed, and every problem is reported at once.
using YamlDotNet.RepresentationModel;

namespace Mesh.Sidecar.Configuration;

public sealed record RouteDocument(string Name, string Yaml, RouteConfig Route);

public static class RouteFile
{
    public static IReadOnlyList<RouteDocument> Parse(string text, string fileName)
    {
        var reader = new YamlReader(fileName);
        var root = reader.Load(text);
        var documents = new List<RouteDocument>();
        if (root is not null)
        {
            var map = reader.Map(root, "");
            var routes = map?.Get("routes");
            if (map is not null && routes is null)
                reader.Error(root, "routes", "is required (a list of routes)");
            var routeReader = new RouteReader(reader);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (node, path) in reader.Items(routes, "routes"))
            {
                var route = routeReader.ReadRoute(node, path, defaultName: null);
                if (route is null || route.Name.Length == 0)
                    continue;
                if (!IsDocumentName(route.Name))
                    reader.Error(node, path + ".name", "must be letters, digits, '-', '_' or '.' (it names a registry node)");
                else if (!names.Add(route.Name))
                    reader.Error(node, path + ".name", $"duplicate route name '{route.Name}'");
                documents.Add(new RouteDocument(route.Name, Render(node), route));
            }
        }
        else if (reader.Errors.Count == 0)
        {
            reader.Errors.Add(new ConfigError(fileName, 1, "", "empty routes file"));
        }

        if (reader.Errors.Count > 0)
            throw new SidecarConfigException(reader.Errors);
        return documents;
    }

    private static bool IsDocumentName(string name) =>
        name.Length <= 200 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && name is not ("." or "..");

    private static string Render(YamlNode node)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        var text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }
}
