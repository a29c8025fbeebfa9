// Entry points for reading configuration: a bootstrap file (sidecar.yaml) or one route document
// (from the registry). Both throw SidecarConfigException listing every problem at once.
namespace Mesh.Sidecar.Configuration;

public static class SidecarConfigLoader
{
    public static SidecarConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SidecarConfigException([new ConfigError(path, 0, "", "cannot read file: " + e.Message)]);
        }
        var config = Parse(text, Path.GetFileName(path));
        return config with { SourcePath = Path.GetFullPath(path) };
    }

    /// <summary>Parses bootstrap YAML; <paramref name="fileName"/> names the source in messages.</summary>
    public static SidecarConfig Parse(string yaml, string fileName = "sidecar.yaml")
    {
        var reader = new YamlReader(fileName);
        var config = new BootstrapReader(reader).Read(yaml);
        if (reader.Errors.Count > 0)
            throw new SidecarConfigException(reader.Errors);
        return config;
    }

    /// <summary>
    /// Parses one route document (YAML or JSON), e.g. the value of /config/routes/{name};
    /// <paramref name="name"/> is used when the document has no `name:`.
    /// </summary>
    public static RouteConfig ParseRoute(string document, string source, string name)
    {
        var reader = new YamlReader(source);
        var root = reader.Load(document);
        RouteConfig? route = null;
        if (root is not null)
            route = new RouteReader(reader).ReadRoute(root, "", name);
        else if (reader.Errors.Count == 0)
            reader.Errors.Add(new ConfigError(source, 1, "", "empty route document"));
        if (reader.Errors.Count > 0 || route is null)
            throw new SidecarConfigException(reader.Errors);
        return route;
    }
}
