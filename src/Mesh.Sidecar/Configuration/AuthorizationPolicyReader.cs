// Reads authorization policies from YAML (docs/security.md, "Authorization policies"): either a document
// with an `authorization:` list of policies (sidecar.yaml, `mesh ctl apply`) or a single policy
// (`service:` + `rules:`, as stored under /config/policies/authz/ in the registry). Every problem
// is reported at once, each with its path and line.
using Mesh.Sidecar.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mesh.Sidecar.Configuration;

internal sealed class AuthorizationPolicyException(IReadOnlyList<string> errors, string source)
    : Exception($"{source}: {errors.Count} problem(s) in authorization policies:\n  " + string.Join("\n  ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

internal static class AuthorizationPolicyReader
{
    private static readonly string[] PolicyFields = ["service", "rules"];
    private static readonly string[] RuleFields = ["name", "action", "from", "routes", "paths", "methods"];
    private static readonly HashSet<string> KnownMethods = new(StringComparer.OrdinalIgnoreCase)
    {
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    };

    /// <summary>Parses <paramref name="yaml"/>; throws <see cref="AuthorizationPolicyException"/> listing every problem.</summary>
    public static IReadOnlyList<AuthorizationPolicy> Read(string yaml, string source = "policies")
    {
        var errors = new List<string>();
        var policies = new List<AuthorizationPolicy>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new AuthorizationPolicyException([$"line {ex.Start.Line}: invalid YAML: {ex.Message}"], source);
        }

        foreach (var document in stream.Documents)
        {
            if (document.RootNode is not YamlMappingNode root)
            {
                errors.Add($"line {document.RootNode.Start.Line}: expected a mapping with 'authorization:' or 'service:'");
                continue;
            }

            if (Get(root, "authorization") is { } list)
            {
                if (list is not YamlSequenceNode sequence)
                {
                    errors.Add($"authorization (line {list.Start.Line}): must be a list of policies");
                    continue;
                }

                for (var i = 0; i < sequence.Children.Count; i++)
                    ReadPolicy(sequence.Children[i], $"authorization[{i}]", policies, errors);
            }
            else if (Get(root, "service") is not null)
            {
                ReadPolicy(root, "policy", policies, errors);
            }
            else
            {
                errors.Add($"line {root.Start.Line}: expected 'authorization:' (a list of policies) or a single policy with 'service:'");
            }
        }

        if (errors.Count > 0)
            throw new AuthorizationPolicyException(errors, source);
        return policies;
    }

    private static void ReadPolicy(YamlNode node, string path, List<AuthorizationPolicy> policies, List<string> errors)
    {
        if (node is not YamlMappingNode map)
        {
            errors.Add($"{path} (line {node.Start.Line}): must be a mapping with 'service' and 'rules'");
            return;
        }

        CheckFields(map, path, PolicyFields, errors);
        var service = Scalar(map, "service", path, errors, required: true);
        if (service is not null && Mesh.Registry.Contracts.SpiffeId.ValidateSegment(service, "service") is { } serviceError)
            errors.Add($"{path}.service (line {Get(map, "service")!.Start.Line}): {serviceError}");

        var rules = new List<AuthorizationRule>();
        switch (Get(map, "rules"))
        {
            case null:
                errors.Add($"{path}.rules (line {map.Start.Line}): required (a policy with no rules denies everything; say so with an explicit rule)");
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    if (ReadRule(sequence.Children[i], $"{path}.rules[{i}]", i, errors) is { } rule)
                        rules.Add(rule);
                }

                break;
            case var other:
                errors.Add($"{path}.rules (line {other.Start.Line}): must be a list of rules");
                break;
        }

        if (service is not null)
            policies.Add(new AuthorizationPolicy(service, rules));
    }

    private static AuthorizationRule? ReadRule(YamlNode node, string path, int index, List<string> errors)
    {
        if (node is not YamlMappingNode map)
        {
            errors.Add($"{path} (line {node.Start.Line}): must be a mapping with 'action' and conditions");
            return null;
        }

        var before = errors.Count;
        CheckFields(map, path, RuleFields, errors);
        var name = Scalar(map, "name", path, errors, required: false) ?? $"rule-{index}";
        var actionText = Scalar(map, "action", path, errors, required: true);
        var action = AuthorizationAction.Allow;
        if (actionText is not null && !Enum.TryParse(actionText, ignoreCase: true, out action))
            errors.Add($"{path}.action (line {Get(map, "action")!.Start.Line}): '{actionText}' must be allow or deny");

        List<IdentityPattern>? from = null;
        if (List(map, "from", path, errors) is { } callers)
        {
            from = [];
            foreach (var (text, line) in callers)
            {
                if (IdentityPattern.TryParse(text, out var pattern, out var error))
                    from.Add(pattern);
                else
                    errors.Add($"{path}.from (line {line}): {error}");
            }
        }

        var paths = List(map, "paths", path, errors);
        foreach (var (prefix, line) in paths ?? [])
        {
            if (!prefix.StartsWith('/'))
                errors.Add($"{path}.paths (line {line}): '{prefix}' must start with '/'");
        }

        var methods = List(map, "methods", path, errors);
        foreach (var (method, line) in methods ?? [])
        {
            if (!KnownMethods.Contains(method))
                errors.Add($"{path}.methods (line {line}): '{method}' is not an HTTP method");
        }

        var routes = List(map, "routes", path, errors);
        if (errors.Count > before)
            return null;
        return new AuthorizationRule
        {
            Name = name,
            Action = action,
            From = from,
            Routes = routes?.Select(r => r.Text).ToList(),
            Paths = paths?.Select(p => p.Text).ToList(),
            Methods = methods?.Select(m => m.Text.ToUpperInvariant()).ToList(),
        };
    }

    private static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static void CheckFields(YamlMappingNode map, string path, string[] known, List<string> errors)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "?";
            if (!known.Contains(name, StringComparer.Ordinal))
                errors.Add($"{path}.{name} (line {key.Start.Line}): unknown field (known: {string.Join(", ", known)})");
        }
    }

    private static string? Scalar(YamlMappingNode map, string key, string path, List<string> errors, bool required)
    {
        switch (Get(map, key))
        {
            case null when required:
                errors.Add($"{path}.{key} (line {map.Start.Line}): required");
                return null;
            case null:
                return null;
            case YamlScalarNode { Value: { Length: > 0 } value }:
                return value;
            case var other:
                errors.Add($"{path}.{key} (line {other.Start.Line}): must be a non-empty text");
                return null;
        }
    }

    // A list of texts; a single text is accepted as a list of one.
    private static List<(string Text, long Line)>? List(YamlMappingNode map, string key, string path, List<string> errors)
    {
        switch (Get(map, key))
        {
            case null:
                return null;
            case YamlScalarNode { Value: { Length: > 0 } single } scalar:
                return [(single, scalar.Start.Line)];
            case YamlSequenceNode sequence:
                var items = new List<(string, long)>();
                foreach (var item in sequence.Children)
                {
                    if (item is YamlScalarNode { Value: { Length: > 0 } text })
                        items.Add((text, item.Start.Line));
                    else
                        errors.Add($"{path}.{key} (line {item.Start.Line}): every entry must be a non-empty text");
                }

                if (items.Count == 0)
                    errors.Add($"{path}.{key} (line {sequence.Start.Line}): an empty list matches nothing; leave the field out to match everything");
                return items;
            case var other:
                errors.Add($"{path}.{key} (line {other.Start.Line}): must be a list");
                return null;
        }
    }
}
