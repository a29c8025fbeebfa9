using System.CommandLine;
using Mesh.Cli.Iptables;

namespace Mesh.Cli.Commands;

/// <summary>
/// <c>mesh iptables</c>: what the init container runs. Installs the nat rules of transparent
/// interception in the current network namespace (<c>--dry-run</c> prints them, <c>--cleanup</c>
/// removes them). Re-running it first removes an earlier install, so a restarted init container
/// does not stack rules.
/// </summary>
internal static class IptablesCommandLine
{
    public static Command Create()
    {
        var defaults = new InterceptionOptions();
        var outboundPort = new Option<int>("--outbound-port") { Description = "The sidecar's outbound listener: where the app's outgoing TCP goes.", DefaultValueFactory = _ => defaults.OutboundPort };
        var inboundPort = new Option<int>("--inbound-port") { Description = "The sidecar's inbound listener: where incoming TCP goes.", DefaultValueFactory = _ => defaults.InboundPort };
        var proxyUid = new Option<int>("--proxy-uid") { Description = "The user id the sidecar runs as; its own traffic is never redirected.", DefaultValueFactory = _ => defaults.ProxyUid };
        var proxyGid = new Option<int?>("--proxy-gid") { Description = "Also never redirect traffic of this group id." };
        var excludeInbound = new Option<string?>("--exclude-inbound-ports") { Description = "Incoming ports left alone, comma-separated (e.g. the admin port 15000)." };
        var excludeOutbound = new Option<string?>("--exclude-outbound-ports") { Description = "Outgoing destination ports left alone, comma-separated." };
        var excludeCidrs = new Option<string?>("--exclude-outbound-cidrs") { Description = "Outgoing IPv4 destinations left alone, comma-separated a.b.c.d/len." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the iptables commands instead of running them." };
        var cleanup = new Option<bool>("--cleanup") { Description = "Remove the rules an earlier run installed (and nothing else)." };
        var program = new Option<string>("--iptables") { Description = "The iptables program to run.", DefaultValueFactory = _ => "iptables" };
        var command = new Command("iptables", "Redirect this network namespace's TCP to the sidecar (transparent interception; Linux, root).")
        {
            outboundPort, inboundPort, proxyUid, proxyGid, excludeInbound, excludeOutbound, excludeCidrs, dryRun, cleanup, program,
        };
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            InterceptionOptions options;
            try
            {
                options = new InterceptionOptions
                {
                    OutboundPort = Port(result.GetValue(outboundPort), "--outbound-port"),
                    InboundPort = Port(result.GetValue(inboundPort), "--inbound-port"),
                    ProxyUid = result.GetValue(proxyUid),
                    ProxyGid = result.GetValue(proxyGid),
                    ExcludeInboundPorts = InterceptionOptions.ParsePorts(result.GetValue(excludeInbound), "--exclude-inbound-ports"),
                    ExcludeOutboundPorts = InterceptionOptions.ParsePorts(result.GetValue(excludeOutbound), "--exclude-outbound-ports"),
                    ExcludeOutboundCidrs = InterceptionOptions.ParseCidrs(result.GetValue(excludeCidrs), "--exclude-outbound-cidrs"),
                };
            }
            catch (FormatException ex)
            {
                error.WriteLine($"mesh iptables: {ex.Message}");
                return 2;
            }

            var isCleanup = result.GetValue(cleanup);
            if (result.GetValue(dryRun))
            {
                // A dry run touches nothing, so it works anywhere; cleanup shows what it removes after a fresh install.
                var rules = InterceptionRules.Install(options);
                var shown = isCleanup ? InterceptionRules.Cleanup(string.Join('\n', rules.Select(r => string.Join(' ', r.Arguments.Skip(2))))) : rules;
                foreach (var rule in shown)
                    output.WriteLine(rule);
                return 0;
            }

            if (!OperatingSystem.IsLinux())
            {
                error.WriteLine("mesh iptables: transparent interception needs Linux; elsewhere the app calls the sidecar's outbound port directly (explicit mode)");
                return 1;
            }
            if (!Environment.IsPrivilegedProcess)
            {
                error.WriteLine("mesh iptables: needs root (or CAP_NET_ADMIN); without it, use explicit mode (the app calls the sidecar's outbound port)");
                return 1;
            }

            var runner = new IptablesRunner(result.GetValue(program)!);
            try
            {
                foreach (var rule in InterceptionRules.Cleanup(runner.NatRules()))
                    runner.Run(rule);
                if (isCleanup)
                {
                    output.WriteLine("mesh iptables: interception rules removed");
                    return 0;
                }
                var install = InterceptionRules.Install(options);
                foreach (var rule in install)
                    runner.Run(rule);
                output.WriteLine($"mesh iptables: {install.Count} rules installed (outbound → {options.OutboundPort}, inbound → {options.InboundPort}, uid {options.ProxyUid} exempt)");
                return 0;
            }
            catch (IptablesException ex)
            {
                error.WriteLine($"mesh iptables: {ex.Message}");
                // Half-installed interception is worse than none: take back what got in.
                if (!isCleanup)
                    TryRemove(runner);
                return 1;
            }
        });
        return command;
    }

    private static void TryRemove(IptablesRunner runner)
    {
        try
        {
            foreach (var rule in InterceptionRules.Cleanup(runner.NatRules()))
                runner.Run(rule);
        }
        catch (IptablesException)
        {
        }
    }

    private static int Port(int port, string flag) =>
        port is >= 1 and <= 65535 ? port : throw new FormatException($"{flag}: {port} is not a port (1-65535)");
}
