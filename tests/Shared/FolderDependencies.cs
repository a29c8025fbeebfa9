// Which folder of an assembly uses which, read from the compiled code (every type's signatures
// and the IL of its method bodies, lambdas and state machines included), so a test can require
// that folders depend one way and name the cycle when they do not. A folder is a namespace below
// the assembly's root namespace, cut to a depth: at depth 1 `Outbound.Routing` is `Outbound`.
using System.Reflection;
using System.Reflection.Emit;

namespace Mesh.Testing;

public static class FolderDependencies
{
    /// <summary>folder → the folders it uses → the types it uses there.</summary>
    public static Dictionary<string, Dictionary<string, SortedSet<string>>> Of(Assembly assembly, string rootNamespace, int depth = 1)
    {
        var graph = new Dictionary<string, Dictionary<string, SortedSet<string>>>(StringComparer.Ordinal);
        foreach (var type in assembly.GetTypes())
        {
            if (FolderOf(type, assembly, rootNamespace, depth) is not { } from)
                continue;
            if (!graph.TryGetValue(from, out var uses))
                graph[from] = uses = new(StringComparer.Ordinal);
            void Use(Type? used)
            {
                foreach (var t in Flatten(used))
                {
                    if (FolderOf(t, assembly, rootNamespace, depth) is { } to && to != from)
                    {
                        if (!uses.TryGetValue(to, out var names))
                            uses[to] = names = new(StringComparer.Ordinal);
                        names.Add(Outermost(t).Name);
                    }
                }
            }
            Use(type.BaseType);
            foreach (var i in type.GetInterfaces())
                Use(i);
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var field in type.GetFields(all))
                Use(field.FieldType);
            foreach (var property in type.GetProperties(all))
                Use(property.PropertyType);
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (method is MethodInfo m)
                    Use(m.ReturnType);
                foreach (var parameter in method.GetParameters())
                    Use(parameter.ParameterType);
                foreach (var local in method.GetMethodBody()?.LocalVariables ?? [])
                    Use(local.LocalType);
                foreach (var member in MembersUsedBy(method))
                {
                    Use(member as Type ?? member.DeclaringType);
                    if (member is MethodInfo { IsGenericMethod: true } generic)
                        foreach (var argument in generic.GetGenericArguments())
                            Use(argument);
                }
            }
        }
        return graph;
    }

    /// <summary>Every group of folders that use each other (strongly connected, more than one folder), each as one cycle path.</summary>
    public static List<List<string>> Cycles(Dictionary<string, Dictionary<string, SortedSet<string>>> graph)
    {
        var cycles = new List<List<string>>();
        foreach (var component in StronglyConnected(graph).Where(c => c.Count > 1))
            cycles.Add(PathBack(graph, component.Min(StringComparer.Ordinal)!, component));
        return cycles;
    }

    /// <summary>One line per cycle: `A → B (TypeX) → A (TypeY)`.</summary>
    public static string Describe(Dictionary<string, Dictionary<string, SortedSet<string>>> graph, IEnumerable<List<string>> cycles) =>
        string.Join(Environment.NewLine, cycles.Select(cycle =>
            cycle[0] + string.Concat(cycle.Zip(cycle.Skip(1).Append(cycle[0]), (a, b) => $" → {b} ({string.Join(", ", graph[a][b].Take(4))})"))));

    private static string? FolderOf(Type type, Assembly assembly, string root, int depth)
    {
        if (type.Assembly != assembly)
            return null;
        var ns = Outermost(type).Namespace;
        if (ns is null || !ns.StartsWith(root + ".", StringComparison.Ordinal))
            return null;
        return string.Join('.', ns[(root.Length + 1)..].Split('.').Take(depth));
    }

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is { } outer)
            type = outer;
        return type;
    }

    private static IEnumerable<Type> Flatten(Type? type)
    {
        if (type is null || type.IsGenericParameter)
            yield break;
        if (type.HasElementType)
        {
            foreach (var t in Flatten(type.GetElementType()))
                yield return t;
            yield break;
        }
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (var argument in type.GetGenericArguments())
                foreach (var t in Flatten(argument))
                    yield return t;
            type = type.GetGenericTypeDefinition();
        }
        yield return type;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The types, fields and methods a method body's IL names (its token operands).</summary>
    private static IEnumerable<MemberInfo> MembersUsedBy(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
            yield break;
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var at = 0;
        while (at < il.Length)
        {
            short value = il[at++];
            if (value == 0xFE)
                value = (short)(0xFE00 | il[at++]);
            var opCode = OpCodesByValue[value];
            var size = opCode.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, at)),
                _ => 4,
            };
            if (opCode.OperandType is OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType)
            {
                MemberInfo? member;
                try
                {
                    member = method.Module.ResolveMember(BitConverter.ToInt32(il, at), typeArguments, methodArguments);
                }
                catch (ArgumentException)
                {
                    member = null;
                }
                if (member is not null)
                    yield return member;
            }
            at += size;
        }
    }

    // Tarjan's algorithm.
    private static List<List<string>> StronglyConnected(Dictionary<string, Dictionary<string, SortedSet<string>>> graph)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<List<string>>();
        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in graph.TryGetValue(node, out var uses) ? uses.Keys : Enumerable.Empty<string>())
            {
                if (!index.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], index[next]);
                }
            }
            if (low[node] == index[node])
            {
                var component = new List<string>();
                string popped;
                do
                {
                    popped = stack.Pop();
                    onStack.Remove(popped);
                    component.Add(popped);
                }
                while (popped != node);
                result.Add(component);
            }
        }
        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
            if (!index.ContainsKey(node))
                Visit(node);
        return result;
    }

    // The shortest way from start back to start inside its component (breadth first).
    private static List<string> PathBack(Dictionary<string, Dictionary<string, SortedSet<string>>> graph, string start, List<string> component)
    {
        var previous = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            foreach (var next in graph[node].Keys.Where(component.Contains).Order(StringComparer.Ordinal))
            {
                if (next == start)
                {
                    var path = new List<string> { node };
                    while (path[0] != start)
                        path.Insert(0, previous[path[0]]);
                    return path;
                }
                if (previous.TryAdd(next, node))
                    queue.Enqueue(next);
            }
        }
        return component;
    }
}
