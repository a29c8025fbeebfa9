namespace Mesh.Registry.CertificateAuthority;

/// <summary>
/// The file format shared by join tokens and API tokens: one entry per line, blank lines and
/// lines starting with '#' skipped, errors naming the file and line (never the token).
/// </summary>
internal static class TokenFile
{
    public static IReadOnlyList<T> Parse<T>(string path, string what, Func<string, T> parseLine)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"cannot read {what} file '{path}': {e.Message}", e);
        }

        var entries = new List<T>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            try
            {
                entries.Add(parseLine(line));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{path}:{i + 1}: {e.Message}", e);
            }
        }
        return entries;
    }
}
