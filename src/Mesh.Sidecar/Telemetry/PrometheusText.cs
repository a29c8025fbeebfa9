// A reader for the Prometheus text exposition format (what /metrics serves), for `mesh top` and
// tests: one sample per line, `name{label="value",...} value [timestamp]`; comments skipped.
using System.Globalization;
using System.Text;

namespace Mesh.Sidecar.Telemetry;

public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";
}

public static class PrometheusText
{
    public static List<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
                continue;
            if (TryParseLine(line, out var sample))
                samples.Add(sample);
        }
        return samples;
    }

    private static bool TryParseLine(string line, out PrometheusSample sample)
    {
        sample = null!;
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
            i++;
        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (i < line.Length && line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                    return false;
                var key = line[i..eq].Trim();
                var value = new StringBuilder();
                i = eq + 2;
                while (i < line.Length && line[i] != '"')
                {
                    if (line[i] == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        value.Append(line[i] == 'n' ? '\n' : line[i]);
                    }
                    else
                    {
                        value.Append(line[i]);
                    }
                    i++;
                }
                labels[key] = value.ToString();
                i++;
                if (i < line.Length && line[i] == ',')
                    i++;
            }
            i++;
        }
        var rest = line[Math.Min(i, line.Length)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0)
            return false;
        var number = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN,
        };
        sample = new PrometheusSample(name, labels, number);
        return true;
    }
}
