using System.CommandLine;
using System.Text;
using System.Text.Json;
using Mesh.Registry.Client;
using Mesh.Registry.Contracts;
using Mesh.Registry.Core.Sessions;

namespace Mesh.Cli.Commands.Ctl;

/// <summary>The verbs of <c>mesh ctl</c>. Each one makes a client, does one thing, prints the result.</summary>
internal static class CtlVerbs
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// The stat as the HTTP API spells it (camelCase), not as the C# record does: the wire
    /// contract's own serializer, indented for reading.
    /// </summary>
    private static readonly JsonSerializerOptions StatJson = new(RegistryJson.Default.Options) { WriteIndented = true };

    public static IEnumerable<Command> Create(Option<string> registry)
    {
        yield return Verb("status", "Show the answering node's role, term, leader, indexes and members.", registry, [],
            async (client, _, output, ct) =>
                output.WriteLine(Pretty(await client.GetStatusJsonAsync(ct))));

        var path = new Argument<string>("path") { Description = "Node path, e.g. /config/routes/catalog." };
        var stale = new Option<bool>("--stale") { Description = "Read the answering node's state without a leader round trip." };
        yield return Verb("get", "Print a node's data (and its stat with --stat).", registry, [path, stale, StatOption],
            async (client, result, output, ct) =>
            {
                var node = await client.GetAsync(result.GetValue(path)!, result.GetValue(stale), ct);
                output.WriteLine(Encoding.UTF8.GetString(node.Data));
                if (result.GetValue(StatOption))
                    output.WriteLine(JsonSerializer.Serialize(node.Stat, StatJson));
            });

        yield return Verb("ls", "List a node's children.", registry, [path, stale],
            async (client, result, output, ct) =>
            {
                var children = await client.GetChildrenAsync(result.GetValue(path)!, result.GetValue(stale), ct);
                foreach (var child in children.Children)
                    output.WriteLine(child);
            });

        var data = new Argument<string>("data") { Description = "The data, as text ('-' reads standard input)." };
        var version = new Option<long>("--version") { Description = "Only if the node is at this version.", DefaultValueFactory = _ => -1 };
        yield return Verb("set", "Set a node's data.", registry, [path, data, version],
            async (client, result, output, ct) =>
            {
                var written = await client.SetAsync(result.GetValue(path)!, ReadData(result.GetValue(data)!), result.GetValue(version), ct);
                output.WriteLine($"{written.Path} version {written.Stat?.Version} at index {written.Index}");
            });

        var optionalData = new Argument<string>("data") { Description = "The data, as text ('-' reads standard input).", DefaultValueFactory = _ => "" };
        var ephemeral = new Option<bool>("--ephemeral") { Description = "Bind the node to a session that expires after --ttl." };
        var sequential = new Option<bool>("--sequential") { Description = "Append a 10-digit sequence number to the name." };
        var ttl = DurationOption.Create("--ttl", "", "TTL of the session of an ephemeral node: 30s (default), 1s .. 10m.",
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(SessionLimits.MinTtlMs), TimeSpan.FromMilliseconds(SessionLimits.MaxTtlMs));
        var parents = new Option<bool>("--parents", "-p") { Description = "Create missing parent nodes." };
        yield return Verb("create", "Create a node (persistent unless --ephemeral).", registry, [path, optionalData, ephemeral, sequential, ttl, parents],
            async (client, result, output, ct) =>
            {
                var isEphemeral = result.GetValue(ephemeral);
                var mode = (isEphemeral, result.GetValue(sequential)) switch
                {
                    (true, true) => CreateMode.EphemeralSequential,
                    (true, false) => CreateMode.Ephemeral,
                    (false, true) => CreateMode.Sequential,
                    _ => CreateMode.Persistent,
                };
                // An ephemeral node outlives this command until its session's TTL runs out.
                var session = isEphemeral ? await client.OpenSessionAsync(result.GetValue(ttl), ct) : 0;
                var created = await client.CreateAsync(result.GetValue(path)!, ReadData(result.GetValue(optionalData)!), mode, session, result.GetValue(parents), ct);
                output.WriteLine(isEphemeral ? $"{created.Path} (session {session}, expires {result.GetValue(ttl).TotalSeconds:0.###} s after this command)" : created.Path);
            });

        var recursive = new Option<bool>("--recursive", "-R") { Description = "Delete the node's children too." };
        yield return Verb("delete", "Delete a node.", registry, [path, version, recursive],
            async (client, result, output, ct) =>
            {
                var target = result.GetValue(path)!;
                try
                {
                    var index = await client.DeleteAsync(target, result.GetValue(version), result.GetValue(recursive), ct);
                    output.WriteLine($"deleted at index {index}");
                }
                catch (RegistryException ex) when (ex.Code == RegistryErrorCodes.NotEmpty)
                {
                    // The API's message names its query parameter (recursive=true); here the flag is -R.
                    throw new RegistryException(ex.Code, $"node {target} has children; delete them too with -R (--recursive)", ex.Status, ex);
                }
            });

        var after = new Option<long>("--after") { Description = "Start after this registry index (default: now)." };
        yield return Verb("watch", "Print every change under a path until Ctrl+C.", registry, [path, after],
            async (client, result, output, ct) =>
            {
                var start = result.GetValue(after);
                if (start == 0)
                    start = await client.CurrentIndexAsync(result.GetValue(path)!, ct);
                output.WriteLine($"watching {result.GetValue(path)} after index {start} (Ctrl+C to stop)");
                await foreach (var change in client.WatchAsync(result.GetValue(path)!, start, true, ct))
                    output.WriteLine($"{change.Index,8} {change.Type,-16} {change.Path}");
            });

        yield return Verb("services", "List registered services.", registry, [],
            async (client, result, output, ct) =>
            {
                var services = await client.ListServicesAsync(ct);
                foreach (var service in services)
                    output.WriteLine(service);
                // On stderr: a script reading the list gets an empty one, a person gets a sentence.
                if (services.Count == 0)
                    result.InvocationConfiguration.Error.WriteLine("no services registered");
            });

        yield return ApplyVerb.Create(registry);
        yield return OwnerVerb.Create(registry);

        var service = new Argument<string>("service") { Description = "Service name." };
        yield return Verb("endpoints", "List a service's live instances.", registry, [service],
            async (client, result, output, ct) =>
            {
                var name = result.GetValue(service)!;
                var set = await client.GetServiceAsync(name, cancellationToken: ct);
                // The registry answers an empty set for a name nobody ever registered; say so.
                if (set.Instances.IsEmpty && !await client.ExistsAsync($"{ServicePaths.ServicesRoot}/{name}", ct))
                    throw new RegistryException(RegistryErrorCodes.NoNode, $"no service '{name}' is registered ('mesh ctl services' lists them)");
                output.WriteLine($"{"ID",-24} {"ADDRESS",-22} {"WEIGHT",6} {"VERSION",-10} {"ZONE",-10} LABELS");
                foreach (var i in set.Instances)
                    output.WriteLine($"{i.Id,-24} {i.Address + ":" + i.Port,-22} {i.Weight,6} {i.Version,-10} {i.Zone,-10} {string.Join(',', i.Labels.Select(l => l.Key + "=" + l.Value))}");
                if (set.Instances.IsEmpty)
                    output.WriteLine($"(no live instances of {name} at index {set.Index})");
            });

        var joinToken = new Argument<string>("join-token") { Description = "The join token to revoke, or - to read it from stdin (keeps it out of shell history)." };
        yield return Verb("revoke-token", "Revoke a join token for good: no more certificates or registry access with it.", registry, [joinToken],
            async (client, result, output, ct) =>
            {
                var text = result.GetValue(joinToken)!;
                var token = text == "-" ? Console.In.ReadToEnd().Trim() : text;
                var revoked = await client.RevokeJoinTokenAsync(token, ct);
                output.WriteLine($"revoked at index {revoked.Index} ({revoked.Removed} stored record(s) removed)");
            });
    }

    private static readonly Option<bool> StatOption = new("--stat") { Description = "Also print the node's stat." };

    private static byte[] ReadData(string text) =>
        text == "-" ? Encoding.UTF8.GetBytes(Console.In.ReadToEnd()) : Encoding.UTF8.GetBytes(text);

    private static string Pretty(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return JsonSerializer.Serialize(document.RootElement, Indented);
        }
        catch (JsonException)
        {
            return json;
        }
    }

    /// <summary>
    /// A verb: parses, runs <paramref name="run"/> with a client, and turns expected failures (an
    /// unreachable registry, NoNode, a bad address) into one readable line and exit code 1.
    /// </summary>
    internal static Command Verb(
        string name, string description, Option<string> registry, Symbol[] symbols,
        Func<RegistryClient, ParseResult, TextWriter, CancellationToken, Task> run)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            if (symbol is Argument argument)
                command.Arguments.Add(argument);
            else if (symbol is Option option)
                command.Options.Add(option);
        }

        command.SetAction(async (result, ct) =>
        {
            var error = result.InvocationConfiguration.Error;
            try
            {
                using var client = new RegistryClient(CtlCommand.ClientOptions(result, registry));
                await run(client, result, result.InvocationConfiguration.Output, ct);
                return 0;
            }
            catch (RegistryException ex)
            {
                error.WriteLine($"mesh ctl {name}: {ex.Code}: {ex.Message}");
                return 1;
            }
            catch (Mesh.Sidecar.Configuration.SidecarConfigException ex)
            {
                error.WriteLine($"mesh ctl {name}: refused, nothing written: {ex.Message}");
                return 1;
            }
            catch (IOException ex)
            {
                error.WriteLine($"mesh ctl {name}: {ex.Message}");
                return 1;
            }
            catch (ArgumentException ex)
            {
                error.WriteLine($"mesh ctl {name}: {ex.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 0;
            }
        });
        return command;
    }
}
